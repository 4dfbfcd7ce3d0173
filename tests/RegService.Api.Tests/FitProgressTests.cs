using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RegService.Api.Fits;
using RegService.Api.Infrastructure;
using RegService.Api.Jobs;
using RegService.Api.Storage;
using RegService.Numerics.Fitting;

namespace RegService.Api.Tests;

/// <summary>
/// Live progress: the event stream of a real fit, the long-poll of GET /v1/fits/{id}?waitSeconds=, their limits, their
/// end at shutdown, tenants, and the progress detail (lambda, fold, epoch, loss, ETA) in the job.
/// </summary>
public sealed class FitProgressTests
{
    /// <summary>A binomial problem wide enough that a 10-fold lasso path takes a while (seconds on a busy machine).</summary>
    public static string WideBinomialCsv(int rows = 3000, int features = 40, int seed = 5)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder(string.Join(",", Enumerable.Range(1, features).Select(j => $"x{j}"))).Append(",y\n");
        var x = new double[features];
        for (int i = 0; i < rows; i++)
        {
            double eta = 0;
            for (int j = 0; j < features; j++)
            {
                x[j] = rng.NextDouble() * 2 - 1;
                eta += (j < 10 ? 1.0 / (1 + j) : 0.02) * x[j];
            }
            double y = rng.NextDouble() < 1 / (1 + Math.Exp(-3 * eta)) ? 1 : 0;
            sb.Append(string.Join(",", x.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))).Append(',').Append(y).Append('\n');
        }
        return sb.ToString();
    }

    public static object BinomialCv(string dataset) => new
    {
        datasetId = dataset, target = "y", family = "binomial", penalty = "lasso", tolerance = 1e-10,
        validation = new { method = "kfold", folds = 10, seed = 1 },
    };

    /// <summary>
    /// The service's own runner (the real engine, the real progress writes to the store), with each progress report held
    /// for <paramref name="pause"/> on its way: a fit then lasts at least reports x pause, however fast the machine, so
    /// the worker's 200 ms write throttle lets several progress states reach the store and the watchers.
    /// </summary>
    public sealed class PacedRunner(TimeSpan pause) : IFitRunner
    {
        private IFitRunner? _inner;

        /// <summary>The factory with this runner, started, and the runner bound to its services.</summary>
        public ApiFactory Start(ApiFactory factory)
        {
            var services = factory.Services;
            _inner = new EngineFitRunner(services.GetRequiredService<IDatasetStore>(),
                services.GetRequiredService<IOptions<JobsOptions>>());
            return factory;
        }

        public Task<StoredResult> RunAsync(FitRecord job, StoredSubmission submission, IProgress<FitProgress> progress, CancellationToken ct) =>
            (_inner ?? throw new InvalidOperationException("call Start first")).RunAsync(job, submission, new Paced(progress, pause), ct);

        private sealed class Paced(IProgress<FitProgress> inner, TimeSpan pause) : IProgress<FitProgress>
        {
            public void Report(FitProgress value)
            {
                Thread.Sleep(pause);
                inner.Report(value);
            }
        }
    }

    /// <summary>A factory whose fits report progress at a pace the tests can watch (see <see cref="PacedRunner"/>).</summary>
    public static ApiFactory Paced(int workers = 1, IDictionary<string, string?>? settings = null, int pauseMilliseconds = 3)
    {
        var runner = new PacedRunner(TimeSpan.FromMilliseconds(pauseMilliseconds));
        return runner.Start(new ApiFactory(workers: workers, runner: runner, settings: settings));
    }

    /// <summary>One server-sent event: its name and its data parsed as JSON.</summary>
    public sealed record Event(string Name, JsonNode Data);

    /// <summary>Reads events (and counts comment lines) until the stream ends or <paramref name="stopAfter"/> says so.</summary>
    public static async Task<List<Event>> ReadEvents(HttpClient client, string url, TimeSpan timeout, Func<Event, bool>? stopAfter = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var events = new List<Event>();
        string? name = null, data = null;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line["data: ".Length..];
            else if (line.Length == 0 && name is not null && data is not null)
            {
                events.Add(new Event(name, JsonNode.Parse(data)!));
                if (stopAfter?.Invoke(events[^1]) == true) break;
                (name, data) = (null, null);
            }
            else Assert.True(line.Length == 0 || line == ": keep-alive", $"unexpected line '{line}'");
        }
        return events;
    }

    [Fact]
    public async Task TheEventStreamOfABinomialCrossValidationShowsTheFractionMovingThroughTheFoldsAndEndsWithTheFinalStatus()
    {
        using var factory = Paced();
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, WideBinomialCsv());
        var fit = await Http.Submit(client, BinomialCv(dataset));
        var events = await ReadEvents(client, $"/v1/fits/{fit}/events", TimeSpan.FromMinutes(3));

        Assert.Equal("end", events[^1].Name);
        Assert.Single(events, e => e.Name == "end");
        var final = events[^1].Data;
        Assert.Equal("succeeded", final["status"]!.GetValue<string>());
        Assert.Equal(1.0, final["progress"]!["fraction"]!.GetValue<double>());
        Assert.Null(final["result"]);   // the list's shape: no result
        Assert.Equal(fit, final["id"]!.GetValue<string>());

        var progress = events.Where(e => e.Name == "progress").Select(e => e.Data["progress"]!).ToList();
        var fractions = progress.Select(p => p["fraction"]!.GetValue<double>()).ToList();
        for (int i = 1; i < fractions.Count; i++) Assert.True(fractions[i] >= fractions[i - 1], string.Join(", ", fractions));
        Assert.All(fractions, f => Assert.Equal(Math.Round(f, 3), f));
        // While the folds run (the issue saw 0.2475 for 8 s), the fraction moves: events between 0.3 and 0.9 name their fold.
        var folds = progress.Where(p => p["folds"] is not null).ToList();
        Assert.True(folds.Select(p => p["fraction"]!.GetValue<double>()).Distinct().Count() >= 2, string.Join(", ", fractions));
        Assert.All(folds, p =>
        {
            Assert.Equal(10, p["folds"]!.GetValue<int>());
            Assert.InRange(p["fraction"]!.GetValue<double>(), 0.3, 0.9);
            Assert.InRange(p["fold"]!.GetValue<int>(), 1, 10);
            Assert.StartsWith("validation: fold", p["stage"]!.GetValue<string>());
        });
        var path = progress.Where(p => p["lambdaIndex"] is not null && p["folds"] is null).ToList();
        Assert.All(path, p => Assert.True(p["lambda"]!.GetValue<double>() > 0 && p["devianceRatio"] is not null));
        Assert.Contains(progress, p => p["etaSeconds"] is not null);
        Assert.All(progress.Where(p => p["etaSeconds"] is not null), p => Assert.True(p["etaSeconds"]!.GetValue<double>() >= 0));
    }

    [Fact]
    public async Task ATrainingRunReportsItsEpochAndLossAndAStreamOfAFinishedFitIsOneEndEvent()
    {
        using var factory = Paced(pauseMilliseconds: 5);
        using var client = factory.CreateClient();
        var data = Synthetic.Gaussian(1000, seed: 8);
        var dataset = await Http.UploadCsv(client, data.Csv());
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", model = "mlp", solver = "adam", hiddenUnits = new[] { 32 },
            epochs = 200, lambda = 0.0001, batchSize = 16, earlyStopping = new { patience = 1000 } });
        var events = await ReadEvents(client, $"/v1/fits/{fit}/events", TimeSpan.FromMinutes(3));
        var epochs = events.Where(e => e.Name == "progress" && e.Data["progress"]!["epoch"] is not null).Select(e => e.Data["progress"]!).ToList();
        Assert.NotEmpty(epochs);
        Assert.All(epochs, p =>
        {
            Assert.Equal(200, p["epochs"]!.GetValue<int>());
            Assert.True(p["loss"]!.GetValue<double>() > 0);
            Assert.True(p["validationLoss"]!.GetValue<double>() > 0);
        });
        Assert.Equal("succeeded", events[^1].Data["status"]!.GetValue<string>());

        var again = await ReadEvents(client, $"/v1/fits/{fit}/events", TimeSpan.FromSeconds(30));
        Assert.Equal(["end"], again.Select(e => e.Name));
        Assert.Null(again[0].Data["progress"]!["epoch"]);   // a succeeded fit keeps no detail
    }

    [Fact]
    public async Task ALongPollReturnsWhenTheFitChangesAtTheTimeoutOtherwiseAndAtOnceWhenFinished()
    {
        // No workers: a queued fit never changes, so the long-poll waits out its time.
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, Synthetic.Gaussian(50, seed: 1).Csv());
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 0.1 });
        var watch = Stopwatch.StartNew();
        var (response, job) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}?waitSeconds=2");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("queued", job!["status"]!.GetValue<string>());
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.9), $"answered after {watch.Elapsed}");

        // A cancel changes it: a long-poll of a minute answers with the change.
        var poll = Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}?waitSeconds=60");
        await Task.Delay(300);
        Assert.False(poll.IsCompleted);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/fits/{fit}/cancel", null)).StatusCode);
        var changed = await poll.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("canceled", changed.Body!["status"]!.GetValue<string>());

        // Finished: at once, whatever the wait; waitSeconds=0 is a plain GET.
        watch.Restart();
        var (finished, body) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}?waitSeconds=60");
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Equal("canceled", body!["status"]!.GetValue<string>());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"answered after {watch.Elapsed}");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/fits/{fit}?waitSeconds=0")).StatusCode);
    }

    [Fact]
    public async Task ALongPollOfARunningFitReturnsWithNewProgress()
    {
        using var factory = Paced();
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, WideBinomialCsv());
        var fit = await Http.Submit(client, BinomialCv(dataset));
        JsonNode before;
        do before = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{fit}"))!;
        while (before["status"]!.GetValue<string>() == "queued");
        var (response, after) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}?waitSeconds=60");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(
            (before["status"]!.GetValue<string>(), before["progress"]!.ToJsonString()),
            (after!["status"]!.GetValue<string>(), after["progress"]!.ToJsonString()));
        await Http.WaitForFit(client, fit, TimeSpan.FromMinutes(3));
    }

    [Theory]
    [InlineData("61")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("soon")]
    [InlineData("")]
    public async Task ABadWaitSecondsIsA400NamingIt(string value)
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, Synthetic.Gaussian(50, seed: 1).Csv());
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 0.1 });
        var (response, problem) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}?waitSeconds={value}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("0 to 60", Http.Messages(problem!["errors"]!["waitSeconds"]));
        // An unknown key on the events stream is a 400 too.
        var (events, eventsProblem) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}/events?waitSeconds=1");
        Assert.Equal(HttpStatusCode.BadRequest, events.StatusCode);
        Assert.NotNull(eventsProblem!["errors"]!["waitSeconds"]);
    }

    [Fact]
    public async Task StreamsAreLimitedPerTenantAndEndWhenTheClientLeavesOrTheHostStops()
    {
        using var factory = new ApiFactory(workers: 0, settings: new Dictionary<string, string?> { ["Limits:MaxProgressStreamsPerTenant"] = "1" });
        using var client = factory.CreateClient();
        var dataset = await Http.UploadCsv(client, Synthetic.Gaussian(50, seed: 1).Csv());
        var fit = await Http.Submit(client, new { datasetId = dataset, target = "y", lambda = 0.1 });

        var first = await client.GetAsync($"/v1/fits/{fit}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var reader = new StreamReader(await first.Content.ReadAsStreamAsync());
        Assert.Equal("event: progress", await reader.ReadLineAsync());
        foreach (var url in new[] { $"/v1/fits/{fit}/events", $"/v1/fits/{fit}?waitSeconds=5" })
        {
            var (second, problem) = await Http.Send(client, HttpMethod.Get, url);
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
            Assert.Equal("Limits:MaxProgressStreamsPerTenant", problem!["limit"]!.GetValue<string>());
            Assert.NotNull(second.Headers.RetryAfter);
        }
        // A plain GET is not a watcher.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v1/fits/{fit}")).StatusCode);

        // The client leaves: its slot is free again once the server sees it.
        reader.Dispose();
        first.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpResponseMessage third;
        while ((third = await client.GetAsync($"/v1/fits/{fit}/events", HttpCompletionOption.ResponseHeadersRead)).StatusCode != HttpStatusCode.OK)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.True(DateTime.UtcNow < deadline, "the slot of a stream whose client left was not released");
            third.Dispose();
            await Task.Delay(100);
        }

        // The host stops: the open stream ends (the fit is still queued, so it is not an end event).
        var rest = new StreamReader(await third.Content.ReadAsStreamAsync());
        Assert.Equal("event: progress", await rest.ReadLineAsync());
        var stopping = Task.Run(() => factory.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication());
        var tail = await rest.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await stopping;
        Assert.DoesNotContain("event: end", tail);
        third.Dispose();
    }

    [Fact]
    public async Task AnotherTenantsFitIsA404OnTheStreamAndTheLongPoll()
    {
        const string admin = "admin-key-for-progress-tests-0123456789";
        using var factory = new ApiFactory(workers: 1, settings: new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "ApiKeys",
            ["Auth:AdminKey"] = admin,
            ["Limits:RequestsPerSecond"] = "0",
        });
        async Task<HttpClient> Tenant(string name)
        {
            using var adminClient = factory.CreateClient();
            adminClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin);
            var created = await adminClient.PostAsJsonAsync("/v1/admin/keys", new { tenant = name, name = "ci" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var client = factory.CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
                JsonNode.Parse(await created.Content.ReadAsStringAsync())!["key"]!.GetValue<string>());
            return client;
        }
        using var acme = await Tenant("acme");
        using var globex = await Tenant("globex");
        var dataset = await Http.UploadCsv(acme, Synthetic.Gaussian(50, seed: 1).Csv());
        var fit = await Http.Submit(acme, new { datasetId = dataset, target = "y", lambda = 0.1 });
        await Http.WaitForFit(acme, fit);

        var own = await ReadEvents(acme, $"/v1/fits/{fit}/events", TimeSpan.FromSeconds(30));
        Assert.Equal(["end"], own.Select(e => e.Name));
        foreach (var url in new[] { $"/v1/fits/{fit}/events", $"/v1/fits/{fit}?waitSeconds=5", "/v1/fits/0195f3a3d0a87c11b2e4f6a8c0d2e4f6/events" })
        {
            var (response, problem) = await Http.Send(globex, HttpMethod.Get, url);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("id", problem!["field"]!.GetValue<string>());
            Assert.DoesNotContain(dataset, problem.ToJsonString());
        }
        using var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/v1/fits/{fit}/events")).StatusCode);
    }
}
