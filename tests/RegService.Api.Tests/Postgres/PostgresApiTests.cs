using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests.Postgres;

/// <summary>The service end to end with Storage:Provider=postgres, two replicas on one database.</summary>
public sealed class PostgresApiTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private ApiFactory Replica(string connectionString, int workers = 1) => new(workers: workers, settings: new Dictionary<string, string?>
    {
        ["Storage:Provider"] = "postgres",
        ["Storage:ConnectionString"] = connectionString,
        ["Jobs:LeaseSeconds"] = "3",
    });

    [PostgresFact]
    public async Task AFitSubmittedToOneReplicaRunsOnAnotherAndPredicts()
    {
        var connection = server.CreateDatabase();
        using var front = Replica(connection, workers: 0);   // takes requests, runs no fits
        using var back = Replica(connection, workers: 1);
        using var client = front.CreateClient();
        using var other = back.CreateClient();
        Assert.Equal("healthy", JsonNode.Parse(await client.GetStringAsync("/health/ready"))!["status"]!.GetValue<string>());

        var data = Synthetic.Gaussian(80, seed: 3);
        var dataset = await Http.UploadCsv(client, data.Csv());
        var (_, listed) = await Http.Send(other, HttpMethod.Get, "/v1/datasets");
        Assert.Contains(dataset, listed!["items"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()));

        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", penalty = "ridge", lambda = 0.1 });
        var job = await Http.WaitForFit(client, fit);
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());

        var (response, body) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/predict", data.Csv("a", "b", "c", "d", "e"), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(80, body!["predictions"]!.AsArray().Count);

        // The data set is in use until its fit is deleted, from either replica.
        Assert.Equal(HttpStatusCode.NoContent, (await other.DeleteAsync($"/v1/fits/{fit}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/datasets/{dataset}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/v1/datasets/{dataset}")).StatusCode);
    }

    [PostgresFact]
    public async Task OneReplicaRunsAFitWhileAnotherStreamsAndLongPollsItsProgress()
    {
        var connection = server.CreateDatabase();
        using var front = Replica(connection, workers: 0);   // streams, runs nothing
        using var back = FitProgressTests.Paced(settings: new Dictionary<string, string?>   // runs the fit, at a watchable pace
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = connection,
            ["Jobs:LeaseSeconds"] = "3",
        });
        using var client = front.CreateClient();
        var dataset = await Http.UploadCsv(client, FitProgressTests.WideBinomialCsv());
        var fit = await Http.Submit(client, FitProgressTests.BinomialCv(dataset));

        // A long-poll on the front returns with the change the back made (claimed, then progress).
        var (response, changed) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}?waitSeconds=60");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual("queued", changed!["status"]!.GetValue<string>());

        var events = await FitProgressTests.ReadEvents(client, $"/v1/fits/{fit}/events", TimeSpan.FromMinutes(3));
        Assert.Equal("end", events[^1].Name);
        Assert.Equal("succeeded", events[^1].Data["status"]!.GetValue<string>());
        var progress = events.Where(e => e.Name == "progress").Select(e => e.Data["progress"]!).ToList();
        var fractions = progress.Select(p => p["fraction"]!.GetValue<double>()).ToList();
        Assert.True(fractions.Distinct().Count() >= 2, string.Join(", ", fractions));
        for (int i = 1; i < fractions.Count; i++) Assert.True(fractions[i] >= fractions[i - 1], string.Join(", ", fractions));
        // The detail the back stored reaches the front through the database.
        Assert.Contains(progress, p => p["lambdaIndex"] is not null);
    }

    [Fact]
    public void PostgresWithoutAConnectionStringRefusesToStart()
    {
        // Program.cs prints the configuration error and exits before building the host.
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(TextWriter.Synchronized(error));
        try
        {
            using var factory = new ApiFactory(settings: new Dictionary<string, string?> { ["Storage:Provider"] = "postgres" });
            Assert.ThrowsAny<InvalidOperationException>(() => factory.CreateClient());
        }
        finally
        {
            Console.SetError(original);
        }
        Assert.Contains("Storage:Provider is postgres but Storage:ConnectionString is empty", error.ToString());
    }

    [Fact]
    public async Task AReplicaStartsWhileTheDatabaseIsUnreachable()
    {
        // Nothing listens on this port: the replica starts anyway, live but not ready, and answers 503.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var factory = Replica($"Host=127.0.0.1;Port={port};Database=none;Username=none;Timeout=2");
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        var (response, body) = await Http.Send(client, HttpMethod.Get, "/v1/datasets");
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, body?.ToJsonString());
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [PostgresFact]
    public async Task WhileTheDatabaseIsDownRequestsGet503AndTheServiceResumesAfter()
    {
        var connection = server.CreateDatabase();
        using var factory = Replica(connection);
        using var client = factory.CreateClient();
        var data = Synthetic.Gaussian(40, seed: 4);
        var dataset = await Http.UploadCsv(client, data.Csv());

        server.Stop();
        try
        {
            var ready = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
            var (response, body) = await Http.Send(client, HttpMethod.Get, $"/v1/datasets/{dataset}");
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, body?.ToJsonString());
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Equal("Store unavailable", body!["title"]!.GetValue<string>());
        }
        finally
        {
            server.Start();
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await client.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "readiness did not recover");
            await Task.Delay(200);
        }
        string? fit = null;
        while (fit is null)
        {
            var response = await client.PostAsync("/v1/fits", new StringContent(
                new JsonObject { ["datasetId"] = dataset, ["target"] = "y", ["lambda"] = 0.1 }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
            if (response.StatusCode == HttpStatusCode.Accepted)
                fit = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
            else
            {
                Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline, await response.Content.ReadAsStringAsync());
                await Task.Delay(200);
            }
        }
        var job = await Http.WaitForFit(client, fit, TimeSpan.FromSeconds(60));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
    }
}
