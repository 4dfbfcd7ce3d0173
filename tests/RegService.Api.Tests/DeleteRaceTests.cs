using System.Net;
using System.Net.Http.Json;

namespace RegService.Api.Tests;

/// <summary>Deleting a data set and accepting a fit on it are one transaction: never both.</summary>
public sealed class DeleteRaceTests
{
    [Fact]
    public async Task ADeleteRacingSubmissionsEitherRefusesOrLeavesNoFitAccepted()
    {
        // No workers: an accepted fit stays queued, so a delete after it must be refused.
        using var factory = new ApiFactory(workers: 0, queueCapacity: 10_000);
        using var client = factory.CreateClient();
        int deletedRounds = 0, refusedRounds = 0;
        for (int round = 0; round < 20; round++)
        {
            var dataset = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n4,4\n");
            var submits = Enumerable.Range(0, 8).Select(i => client.PostAsJsonAsync("/v1/fits", new { datasetId = dataset, target = "y", lambda = 0.1 * (i + 1) })).ToList();
            var delete = client.DeleteAsync($"/v1/datasets/{dataset}");
            var statuses = (await Task.WhenAll(submits)).Select(r => r.StatusCode).ToList();
            var deleted = (await delete).StatusCode;
            var accepted = statuses.Count(s => s == HttpStatusCode.Accepted);
            Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.Accepted, HttpStatusCode.NotFound }));
            if (deleted == HttpStatusCode.NoContent)
            {
                Assert.Equal(0, accepted);
                deletedRounds++;
            }
            else
            {
                Assert.Equal(HttpStatusCode.Conflict, deleted);
                Assert.True(accepted > 0, "the delete was refused though no fit was accepted");
                refusedRounds++;
            }
        }
        Assert.Equal(20, deletedRounds + refusedRounds);
    }

    [Fact]
    public async Task ASubmissionOrPredictionThatFindsTheMatrixGoneAnswers404NamingTheDataSet()
    {
        // The record read, then the matrix removed (as a delete between the two reads leaves it): 404, not an I/O fault.
        using var factory = new ApiFactory(workers: 1);
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n4,4\n");
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 0.1 });
        await Http.WaitForFit(client, fit);
        File.Delete(Path.Combine(factory.DataDirectory, "datasets", dataset + ".f64"));

        var (submitted, problem) = await Http.Send(client, HttpMethod.Post, "/v1/fits",
            System.Text.Json.JsonSerializer.Serialize(new { datasetId = dataset, target = "y", lambda = 0.2 }));
        Assert.Equal(HttpStatusCode.NotFound, submitted.StatusCode);
        Assert.Equal("datasetId", (string?)problem!["field"]);
        Assert.Contains(dataset, (string?)problem["detail"]);
        var (predicted, predictProblem) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/predict?datasetId={dataset}", null);
        Assert.Equal(HttpStatusCode.NotFound, predicted.StatusCode);
        Assert.Equal("datasetId", (string?)predictProblem!["field"]);
        Assert.Equal(0, (int)(await Http.Send(client, HttpMethod.Get, "/v1/fits?status=queued", null)).Body!["total"]!);
    }
}
