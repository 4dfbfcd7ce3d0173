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
}
