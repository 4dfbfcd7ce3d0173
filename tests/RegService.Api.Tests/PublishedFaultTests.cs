using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// Faults an operator meets, on the published app as the container runs it: settings that must refuse
/// to start, a second process on one data directory, SIGTERM during a fit, a full disk.
/// </summary>
public sealed partial class PublishedAppTests
{
    [Fact]
    public async Task ProductionRefusesToStartOpenOrWithNoWayToCreateAKey()
    {
        var data = ApiFactory.NewDirectory();
        try
        {
            var (open, openLog) = await ExitOf(_published.Launch(data, 0, new Dictionary<string, string> { ["Auth__Mode"] = "None" }, out _));
            Assert.Equal(2, open);
            Assert.Contains("Auth:Mode is None in Production", openLog);
            Assert.Contains("Auth__AdminKey", openLog);

            var (keyless, keylessLog) = await ExitOf(_published.Launch(data, 0, new Dictionary<string, string> { ["Auth__AdminKey"] = "" }, out _));
            Assert.Equal(2, keyless);
            Assert.Contains("no key can ever be created", keylessLog);

            var (weak, weakLog) = await ExitOf(_published.Launch(data, 0, new Dictionary<string, string> { ["Auth__AdminKey"] = "short" }, out _));
            Assert.Equal(2, weak);
            Assert.Contains("Auth:AdminKey is 5 characters long", weakLog);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task ASecondProcessOnTheSameDataDirectoryRefusesToStartAndNamesTheOwner()
    {
        var data = ApiFactory.NewDirectory();
        try
        {
            using var first = _published.Start(data, workers: 1);
            var (code, log) = await ExitOf(_published.Launch(data, 1, null, out _));
            Assert.Equal(2, code);
            Assert.Contains(Path.GetFullPath(data), log);
            Assert.Contains($"process {first.ProcessId}", log);
            // The first one is unharmed.
            using var client = first.ClientWithKey(await first.CreateKey("acme"));
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/datasets")).StatusCode);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task InProductionTheDocsAreHiddenUnlessExposedAndHealthNeedsNoKey()
    {
        var data = ApiFactory.NewDirectory();
        try
        {
            using (var hidden = _published.Start(data, workers: 0))
            {
                using var client = hidden.Client;
                Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/openapi/v1.json")).StatusCode);
                Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/swagger/index.html")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
                var anonymous = await client.GetAsync("/v1/datasets");
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
                Assert.Equal(401, JsonNode.Parse(await anonymous.Content.ReadAsStringAsync())!["status"]!.GetValue<int>());
            }
            using var exposed = _published.Start(data, workers: 0, new Dictionary<string, string> { ["Api__ExposeDocs"] = "true" });
            using var docs = exposed.Client;
            Assert.Equal(HttpStatusCode.OK, (await docs.GetAsync("/openapi/v1.json")).StatusCode);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task SigtermDuringAFitReturnsItToTheQueueWithoutCountingTheAttemptAndExitsPromptly()
    {
        var data = ApiFactory.NewDirectory();
        try
        {
            string key, fit;
            using (var app = _published.Start(data, workers: 1))
            {
                key = await app.CreateKey("acme");
                using var client = app.ClientWithKey(key);
                var dataset = await Http.UploadCsv(client, Rows(2000, seed: 3));
                // Long enough to be running when the signal comes: an MLP with many epochs.
                fit = await Http.Submit(client, new
                {
                    datasetId = dataset, target = "y", model = "mlp", solver = "adam", hiddenUnits = new[] { 64 }, epochs = 100000, seed = 1,
                });
                await WaitForStatus(client, fit, "running");
                var watch = Stopwatch.StartNew();
                Assert.Equal(0, app.Stop());
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the process took {watch.Elapsed} to exit");
            }
            using var again = _published.Start(data, workers: 0);
            using var reader = again.ClientWithKey(key);
            var job = JsonNode.Parse(await reader.GetStringAsync($"/v1/fits/{fit}"))!;
            Assert.Equal("queued", job["status"]!.GetValue<string>());
            Assert.Equal(0, job["attempts"]!.GetValue<int>());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task SigtermDuringAClosedFormFitReturnsItToTheQueueAndARestartFinishesIt()
    {
        var data = ApiFactory.NewDirectory();
        try
        {
            string key, fit;
            using (var app = _published.Start(data, workers: 1))
            {
                key = await app.CreateKey("acme");
                using var client = app.ClientWithKey(key);
                var dataset = await Http.UploadCsv(client, ClosedFormCancelTests.WideCsv(1600, 1500, 3));
                fit = await Http.Submit(client, new { datasetId = dataset, target = "y", penalty = "ridge", path = new { count = 100 } });
                await WaitForStatus(client, fit, "running");
                await Task.Delay(500);   // into the Gram matrix or the eigendecomposition
                var watch = Stopwatch.StartNew();
                Assert.Equal(0, app.Stop());
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the process took {watch.Elapsed} to exit");
            }
            using var again = _published.Start(data, workers: 1);
            using var reader = again.ClientWithKey(key);
            var job = await Http.WaitForFit(reader, fit, TimeSpan.FromSeconds(120));
            Assert.Equal("succeeded", job["status"]!.GetValue<string>());
            Assert.Equal(1, job["attempts"]!.GetValue<int>());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>
    /// A data directory on a small tmpfs (the tests run as root in CI): uploads answer 507 with
    /// Retry-After once it is full, readiness turns unhealthy, a fit finishing meanwhile stays running
    /// (its result waits), and everything recovers once space is freed.
    /// </summary>
    [Fact]
    public async Task AFullDiskAnswers507TurnsReadinessUnhealthyAndRecoversWhenSpaceIsFreed()
    {
        Assert.True(Environment.UserName == "root" || geteuid() == 0,
            "this test mounts a tmpfs and needs root (CI runs as root); run the suite as root");
        var mount = ApiFactory.NewDirectory();
        Run("mount", $"-t tmpfs -o size=24m tmpfs {mount}");
        try
        {
            var data = Path.Combine(mount, "data");
            Directory.CreateDirectory(data);
            using var app = _published.Start(data, workers: 1);
            using var client = app.ClientWithKey(await app.CreateKey("acme"));
            var dataset = await Http.UploadCsv(client, Rows(400, seed: 1));
            var fit = await Http.Submit(client, new
            {
                datasetId = dataset, target = "y", model = "mlp", solver = "adam", hiddenUnits = new[] { 32 }, epochs = 1500, seed = 1,
            });
            // 1,500 epochs keep it running for a while: one CI run at a load of 50 saw a 600-epoch fit end before the first poll.
            await WaitForStatus(client, fit, "running");

            // Fill the disk to the last byte.
            var filler = Path.Combine(mount, "filler");
            Run("sh", $"-c \"dd if=/dev/zero of={filler} bs=64k 2>/dev/null; true\"");

            var upload = await client.PostAsync("/v1/datasets", new StringContent(Rows(2000, seed: 2), Encoding.UTF8, "text/csv"));
            var body = JsonNode.Parse(await upload.Content.ReadAsStringAsync())!;
            Assert.True(upload.StatusCode == HttpStatusCode.InsufficientStorage, $"{(int)upload.StatusCode} {body}");
            Assert.Equal("urn:regservice:problem:insufficient-storage", body["type"]!.GetValue<string>());
            Assert.NotNull(upload.Headers.RetryAfter);
            var ready = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);

            // The fit ends while the disk is full: it must not be stored as failed, nor be lost. Its result
            // waits (running) until it can be written, unless SQLite still had room in its write-ahead log.
            await Task.Delay(TimeSpan.FromSeconds(4));
            var during = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{fit}"))!;
            Assert.Contains(during["status"]!.GetValue<string>(), new[] { "running", "succeeded" });

            File.Delete(filler);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await client.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
            {
                Assert.True(DateTime.UtcNow < deadline, "readiness did not recover after space was freed");
                await Task.Delay(200);
            }
            var job = await Http.WaitForFit(client, fit, TimeSpan.FromSeconds(120));
            Assert.Equal("succeeded", job["status"]!.GetValue<string>());
            Assert.Equal(1, job["attempts"]!.GetValue<int>());
            await Http.UploadCsv(client, Rows(200, seed: 4));
            Assert.Equal(0, app.Stop());
        }
        finally
        {
            Run("umount", $"-l {mount}");
            Directory.Delete(mount, recursive: true);
        }
    }

    [DllImport("libc")]
    private static extern uint geteuid();

    private static async Task WaitForStatus(HttpClient client, string fit, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var job = JsonNode.Parse(await client.GetStringAsync($"/v1/fits/{fit}"))!;
            if (job["status"]!.GetValue<string>() == status) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"fit {fit} never became {status}: {job}");
            await Task.Delay(50);
        }
    }

    private static string Rows(int n, int seed)
    {
        var csv = new StringBuilder("a,b,c,d,y\n");
        var rng = new Random(seed);
        for (int i = 0; i < n; i++)
        {
            double a = rng.NextDouble(), b = rng.NextDouble(), c = rng.NextDouble(), d = rng.NextDouble();
            csv.Append(FormattableString.Invariant($"{a},{b},{c},{d},{Math.Sin(3 * a) + b * b - c + 0.1 * rng.NextDouble()}\n"));
        }
        return csv.ToString();
    }

    private static async Task<(int Code, string Log)> ExitOf(Process process)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output + await error);
    }

    private static void Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {arguments} failed ({process.ExitCode}): {error}");
    }
}
