using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RegService.Api.Fits;
using RegService.Api.Infrastructure;
using RegService.Api.Jobs;
using RegService.Api.Storage;
using RegService.Numerics.Fitting;

namespace RegService.Api.Tests;

public sealed class FitLifecycleTests
{
    public static TheoryData<string, string> RealData => new()
    {
        { "longley.csv", "Employed" },
        { "mtcars.csv", "mpg" },
        { "swiss.csv", "Fertility" },
    };

    [Theory]
    [MemberData(nameof(RealData))]
    public async Task RidgeThroughTheApiMatchesTheExactClosedForm(string file, string target)
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, await File.ReadAllTextAsync(Http.DataFile(file)));
        decimal[] lambdas = [1m, 0.1m, 0.01m, 0.001m];
        var fitId = await Http.Submit(client, new { datasetId = id, target, penalty = "ridge", lambdas = lambdas.Select(l => (double)l) });
        var job = await Http.WaitForFit(client, fitId, include: "path,standardization");
        Assert.Equal("succeeded", job["status"]!.GetValue<string>());
        var result = Http.Dense(job["result"]!);
        Assert.Equal("converged", result["status"]!.GetValue<string>());

        var (names, columns) = ExactRidge.ReadCsv(Http.DataFile(file));
        int t = Array.IndexOf(names, target);
        var features = columns.Where((_, j) => j != t).ToArray();
        var featureNames = names.Where((_, j) => j != t).ToArray();
        var path = result["path"]!;
        for (int l = 0; l < lambdas.Length; l++)
        {
            var (intercept, coef) = ExactRidge.Fit(features, columns[t], lambdas[l]);
            Assert.Equal((double)lambdas[l], path["lambdas"]![l]!.GetValue<double>());
            AssertRelative((double)intercept, path["intercepts"]![l]!.GetValue<double>(), 1e-8);
            for (int j = 0; j < featureNames.Length; j++)
                AssertRelative((double)coef[j], path["coefficients"]![l]![featureNames[j]]!.GetValue<double>(), 1e-8);
        }
        // Without validation the returned model is the last lambda's.
        Assert.Equal(0.001, result["lambda"]!.GetValue<double>());
        var (_, last) = ExactRidge.Fit(features, columns[t], 0.001m);
        AssertRelative((double)last[0], result["coefficients"]![featureNames[0]]!.GetValue<double>(), 1e-8);
    }

    [Fact]
    public async Task OneLambdaByCholeskyMatchesTheExactClosedFormOnBothScales()
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, await File.ReadAllTextAsync(Http.DataFile("longley.csv")));
        var result = await Http.WaitForDenseResult(client, await Http.Submit(client, new { datasetId = id, target = "Employed", lambda = 0.01 }));
        var (names, columns) = ExactRidge.ReadCsv(Http.DataFile("longley.csv"));
        var (intercept, coef) = ExactRidge.Fit(columns[..6], columns[6], 0.01m);
        AssertRelative((double)intercept, result["intercept"]!.GetValue<double>(), 1e-8);
        for (int j = 0; j < 6; j++)
        {
            AssertRelative((double)coef[j], result["coefficients"]![names[j]]!.GetValue<double>(), 1e-8);
            double scale = result["featureScales"]![names[j]]!.GetValue<double>();
            AssertRelative((double)coef[j] * scale, result["standardizedCoefficients"]![names[j]]!.GetValue<double>(), 1e-8);
        }
        Assert.Equal(6, result["sparsity"]!["nonZero"]!.GetValue<int>());
        Assert.Equal(0.0, result["sparsity"]!["fractionZero"]!.GetValue<double>());
        Assert.Equal("closedForm", result["diagnostics"]!["solver"]!.GetValue<string>());
        var train = result["metrics"]!["train"]!;
        Assert.Equal(Math.Sqrt(train["mse"]!.GetValue<double>()), train["rmse"]!.GetValue<double>(), 12);
        Assert.InRange(train["r2"]!.GetValue<double>(), 0.9, 1.0);
    }

    [Fact]
    public async Task HoldoutValidationScoresEveryLambdaAndRefitsOnAllRows()
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var rng = new Random(3);
        var rows = Enumerable.Range(0, 400).Select(_ =>
        {
            double a = rng.NextDouble(), b = rng.NextDouble(), c = rng.NextDouble();
            return (a, b, c, y: 3 * a - 2 * b + 0.1 * rng.NextDouble());
        }).ToList();
        var csv = "a,b,c,y\n" + string.Concat(rows.Select(r => FormattableString.Invariant($"{r.a},{r.b},{r.c},{r.y}\n")));
        var id = await Http.UploadCsv(client, csv);
        double[] lambdas = [10, 1, 0.1, 0.01, 0.001];
        var job = await Http.WaitForFit(client, await Http.Submit(client, new
        {
            datasetId = id, target = "y", lambdas, validation = new { method = "holdout", holdoutFraction = 0.25, seed = 11 },
        }));
        var result = job["result"]!;
        Assert.Equal(300, result["validation"]!["trainRows"]!.GetValue<int>());
        Assert.Equal(100, result["validation"]!["validationRows"]!.GetValue<int>());
        var mse = result["path"]!["validationMse"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(5, mse.Length);
        Assert.True(mse[0] > mse[4], "a heavy penalty should predict worse than a light one here");
        int best = Array.IndexOf(mse, mse.Min());
        Assert.Equal(lambdas[best], result["path"]!["lambdaMin"]!.GetValue<double>());
        Assert.Equal(lambdas[best], result["lambda"]!.GetValue<double>());
        Assert.Equal(mse[best], result["metrics"]!["validation"]!["mse"]!.GetValue<double>(), 12);
        Assert.Equal(400, result["metrics"]!["train"]!["rows"]!.GetValue<int>());
        Assert.True(result["path"]!["lambda1se"]!.GetValue<double>() >= lambdas[best]);

        // The same seed gives the same split and so the same curve.
        var again = await Http.WaitForFit(client, await Http.Submit(client, new
        {
            datasetId = id, target = "y", lambdas, validation = new { method = "holdout", holdoutFraction = 0.25, seed = 11 },
        }));
        Assert.Equal(result["path"]!["validationMse"]!.ToJsonString(), again["result"]!["path"]!["validationMse"]!.ToJsonString());

        // The one-standard-error rule returns the model at lambda1se: within one SE of the minimum, the largest lambda.
        var oneSe = (await Http.WaitForFit(client, await Http.Submit(client, new
        {
            datasetId = id, target = "y", lambdas, validation = new { method = "holdout", holdoutFraction = 0.25, seed = 11, rule = "oneStandardError" },
        })))["result"]!;
        double lambda1se = oneSe["path"]!["lambda1se"]!.GetValue<double>();
        Assert.Equal(lambda1se, oneSe["lambda"]!.GetValue<double>());
        var se = oneSe["path"]!["validationStandardError"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        int at = Array.IndexOf(lambdas, lambda1se);
        Assert.True(mse[at] <= mse[best] + se[best], "lambda1se must be within one standard error of the minimum");
        for (int l = 0; l < lambdas.Length; l++)
            if (lambdas[l] > lambda1se) Assert.True(mse[l] > mse[best] + se[best], $"lambda {lambdas[l]} is larger and also within one SE");
    }

    [Fact]
    public async Task AZeroVarianceFeatureGetsCoefficientZeroAndAWarning()
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "x,k,y\n1,5,2.1\n2,5,3.9\n3,5,6.2\n4,5,7.8\n");
        var result = await Http.WaitForDenseResult(client, await Http.Submit(client, new { datasetId = id, target = "y", lambda = 0.1 }));
        Assert.Equal(0.0, result["coefficients"]!["k"]!.GetValue<double>());
        Assert.NotEqual(0.0, result["coefficients"]!["x"]!.GetValue<double>());
        Assert.Contains("'k' has zero variance", Http.Messages(result["diagnostics"]!["warnings"]));
        Assert.Equal(new[] { "x" }, result["sparsity"]!["selected"]!.AsArray().Select(v => v!.GetValue<string>()));
    }

    [Fact]
    public async Task ASingularUnpenalizedFitFailsWithAReason()
    {
        using var factory = new ApiFactory();
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "a,b,y\n1,2,1\n2,4,2.5\n3,6,2.9\n4,8,4.2\n");
        var job = await Http.WaitForFit(client, await Http.Submit(client, new { datasetId = id, target = "y", penalty = "none" }));
        Assert.Equal("failed", job["status"]!.GetValue<string>());
        Assert.Equal("Numerical breakdown", job["error"]!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task AFullQueueAnswers429WithRetryAfter()
    {
        using var factory = new ApiFactory(workers: 0, queueCapacity: 2);
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        await Http.Submit(client, new { datasetId = id, target = "y", lambda = 1 });
        await Http.Submit(client, new { datasetId = id, target = "y", lambda = 1 });
        var (response, body) = await Http.Send(client, HttpMethod.Post, "/v1/fits", $$"""{"datasetId":"{{id}}","target":"y","lambda":1}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter!.Delta);
        Assert.Contains("2 fits are already queued", body!["detail"]!.GetValue<string>());
        var list = JsonNode.Parse(await client.GetStringAsync("/v1/fits?status=queued"))!;
        Assert.Equal(2, list["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task CancelingAQueuedFitCancelsItAtOnce()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        var fit = await Http.Submit(client, new { datasetId = id, target = "y", lambda = 1 });
        var (response, body) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/cancel");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("canceled", body!["status"]!.GetValue<string>());
        var (again, problem) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/cancel");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("is canceled", problem!["detail"]!.GetValue<string>());
        var (missing, _) = await Http.Send(client, HttpMethod.Post, "/v1/fits/nope/cancel");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // A finished fit is deleted (204), then gone (404); a queued one is a 409 naming cancel.
        var (deleted, _) = await Http.Send(client, HttpMethod.Delete, $"/v1/fits/{fit}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var (gone, _) = await Http.Send(client, HttpMethod.Get, $"/v1/fits/{fit}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        var queued = await Http.Submit(client, new { datasetId = id, target = "y", lambda = 1 });
        var (active, activeProblem) = await Http.Send(client, HttpMethod.Delete, $"/v1/fits/{queued}");
        Assert.Equal(HttpStatusCode.Conflict, active.StatusCode);
        Assert.Contains($"/v1/fits/{queued}/cancel", activeProblem!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task CancelingARunningFitStopsItWithinASecond()
    {
        var runner = new BlockingRunner();
        using var factory = new ApiFactory(workers: 1, runner: runner);
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        var fit = await Http.Submit(client, new { datasetId = id, target = "y", lambda = 1 });
        await runner.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // The stage the fit reported shows within 200 ms of its claim, though it reports nothing after.
        JsonNode running;
        var shown = Stopwatch.StartNew();
        while (true)
        {
            running = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{fit}"))!;
            if (running["progress"]!["stage"]!.GetValue<string>() == "spinning" || shown.Elapsed > TimeSpan.FromSeconds(2)) break;
            await Task.Delay(25);
        }
        Assert.Equal("running", running["status"]!.GetValue<string>());
        Assert.Equal("spinning", running["progress"]!["stage"]!.GetValue<string>());

        var watch = Stopwatch.StartNew();
        var (response, body) = await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fit}/cancel");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.True(body!["cancelRequested"]!.GetValue<bool>());
        var job = await Http.WaitForFit(client, fit, TimeSpan.FromSeconds(5));
        Assert.Equal("canceled", job["status"]!.GetValue<string>());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task ASecondInstanceOnTheSameDataDirectoryFinishesTheFirstOnesQueuedFits()
    {
        var dir = ApiFactory.NewDirectory();
        var ids = new List<string>();
        using (var first = new ApiFactory(dir, workers: 0))
        using (var client = first.CreateClient())
        {
            var id = await Http.UploadCsv(client, await File.ReadAllTextAsync(Http.DataFile("swiss.csv")));
            for (int i = 0; i < 5; i++)
                ids.Add(await Http.Submit(client, new { datasetId = id, target = "Fertility", lambda = 0.1 * (i + 1) }));
        }
        await ApiFactory.WaitUntilReleased(dir);
        using (var second = new ApiFactory(dir, workers: 2))
        using (var client = second.CreateClient())
        {
            foreach (var fit in ids)
            {
                var job = await Http.WaitForFit(client, fit);
                Assert.Equal("succeeded", job["status"]!.GetValue<string>());
                Assert.Equal(1, job["attempts"]!.GetValue<int>());
            }
        }
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task AFitLeftRunningByADeadProcessRunsAgainUntilItsAttemptsRunOut()
    {
        var dir = ApiFactory.NewDirectory();
        string again, exhausted;
        using (var first = new ApiFactory(dir, workers: 0))
        using (var client = first.CreateClient())
        {
            var id = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n4,4\n");
            again = await Http.Submit(client, new { datasetId = id, target = "y", lambda = 1 });
            exhausted = await Http.Submit(client, new { datasetId = id, target = "y", lambda = 2 });
            // Claim both as a worker would, then "die": nothing moves them back to the queue.
            var fits = first.Services.GetRequiredService<IFitStore>();
            var lease = TimeSpan.FromMinutes(1);
            var claimed = await fits.TryClaimNextAsync("test", lease, CancellationToken.None);
            Assert.Equal(again, claimed!.Id);
            for (int attempt = 0; attempt < 3; attempt++)
            {
                var next = await fits.TryClaimNextAsync("test", lease, CancellationToken.None);
                if (attempt < 2) Assert.True(fits.ReturnToQueue(exhausted, next!.LeaseToken!));
            }
            // ReturnToQueue does not count an attempt; count two more by hand as two earlier crashes would have.
            using var connection = first.Services.GetRequiredService<SqliteDatabase>().Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE fits SET attempts = 2 WHERE id = '{exhausted}'";
            command.ExecuteNonQuery();
        }
        await ApiFactory.WaitUntilReleased(dir);
        using (var second = new ApiFactory(dir, workers: 1, maxAttempts: 2))
        using (var client = second.CreateClient())
        {
            var job = await Http.WaitForFit(client, again);
            Assert.Equal("succeeded", job["status"]!.GetValue<string>());
            Assert.Equal(2, job["attempts"]!.GetValue<int>());
            var failed = await Http.WaitForFit(client, exhausted);
            Assert.Equal("failed", failed["status"]!.GetValue<string>());
            Assert.Contains("2 times", failed["error"]!["detail"]!.GetValue<string>());
        }
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task ListingFitsFiltersByStatusAndPages()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n");
        var fits = new List<string>();
        for (int i = 0; i < 3; i++) fits.Add(await Http.Submit(client, new { datasetId = id, target = "y", lambda = 1 }));
        await Http.Send(client, HttpMethod.Post, $"/v1/fits/{fits[0]}/cancel");
        var queued = JsonNode.Parse(await client.GetStringAsync("/v1/fits?status=queued&limit=1"))!;
        Assert.Equal(2, queued["total"]!.GetValue<int>());
        Assert.Single(queued["items"]!.AsArray());
        Assert.Equal(fits[2], queued["items"]![0]!["id"]!.GetValue<string>());
        var canceled = JsonNode.Parse(await client.GetStringAsync("/v1/fits?status=canceled"))!;
        Assert.Equal(fits[0], canceled["items"]![0]!["id"]!.GetValue<string>());
        var (bad, body) = await Http.Send(client, HttpMethod.Get, "/v1/fits?status=done");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("queued, running", Http.Messages(body!["errors"]!["status"]));
    }

    private static void AssertRelative(double expected, double actual, double tolerance)
    {
        double error = Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-300);
        Assert.True(error <= tolerance, $"expected {expected:R}, got {actual:R} (relative error {error:E2})");
    }

    [Fact]
    public async Task AStoreThatFailsWhileAFitReadsItsDataIsWaitedOutNotAFailedFit()
    {
        var runner = new StoreFailingRunner(failures: 2);
        using var factory = new ApiFactory(workers: 1, runner: runner);
        runner.Inner = new EngineFitRunner(factory.Services.GetRequiredService<IDatasetStore>(),
            factory.Services.GetRequiredService<IOptions<JobsOptions>>());
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n4,4\n");
        var fit = await Http.Submit(client, new { datasetId = id, target = "y", penalty = "ridge", lambda = 1 });
        var job = await Http.WaitForFit(client, fit, TimeSpan.FromSeconds(30));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        Assert.Equal(3, runner.Calls);
        Assert.Equal(1, job["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task AStoreThatKeepsFailingEndsTheFitWithAStoreErrorNotAnInternalOne()
    {
        var runner = new StoreFailingRunner(failures: int.MaxValue);
        using var factory = new ApiFactory(workers: 1, runner: runner);
        using var client = factory.CreateClient();
        var id = await Http.UploadCsv(client, "x,y\n1,2\n2,3\n3,5\n4,4\n");
        var fit = await Http.Submit(client, new { datasetId = id, target = "y", penalty = "ridge", lambda = 1 });
        var job = await Http.WaitForFit(client, fit, TimeSpan.FromSeconds(60));
        Assert.True(job["status"]!.GetValue<string>() == "failed", job.ToJsonString());
        Assert.Equal("Store unavailable", job["error"]!["title"]!.GetValue<string>());
        Assert.Contains($"failed {FitWorker.StoreTries} times while the fit read its data set", job["error"]!["detail"]!.GetValue<string>());
        Assert.Equal(FitWorker.StoreTries, runner.Calls);
    }

    /// <summary>Fails as an unreachable store would for its first <c>failures</c> calls, then runs <see cref="Inner"/>.</summary>
    private sealed class StoreFailingRunner(int failures) : IFitRunner
    {
        private int _calls;
        public int Calls => Volatile.Read(ref _calls);
        public IFitRunner? Inner { get; set; }

        public Task<StoredResult> RunAsync(FitRecord job, StoredSubmission submission, IProgress<FitProgress> progress, CancellationToken ct)
        {
            if (Interlocked.Increment(ref _calls) <= failures)
                return Task.FromException<StoredResult>(new SqliteException("unable to open database file", 14));
            return Inner!.RunAsync(job, submission, progress, ct);
        }
    }

    /// <summary>Runs until canceled, reporting progress once, so tests can catch a fit while it runs.</summary>
    private sealed class BlockingRunner : IFitRunner
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<StoredResult> RunAsync(FitRecord job, StoredSubmission submission, IProgress<FitProgress> progress, CancellationToken ct)
        {
            progress.Report(new FitProgress(0.5, "spinning"));
            Started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        }
    }
}
