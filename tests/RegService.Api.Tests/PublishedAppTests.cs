using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// The service as the container runs it: `dotnet publish`, then `dotnet RegService.Api.dll` with
/// ASPNETCORE_URLS and Storage__DataDirectory, over real HTTP. Covers the health probe, a fit,
/// a kill -9 with 20 fits accepted, and a restart on the same data directory that finishes them all.
/// </summary>
public sealed partial class PublishedAppTests : IClassFixture<PublishedAppTests.Published>
{
    private readonly Published _published;

    public PublishedAppTests(Published published) => _published = published;

    [Fact]
    public async Task KillNineWithTwentyFitsAcceptedThenARestartFinishesThemAll()
    {
        var data = ApiFactory.NewDirectory();
        try
        {
            var ids = new List<string>();
            string key;
            using (var first = _published.Start(data, workers: 1))
            {
                key = await first.CreateKey("acme");
                using var client = first.ClientWithKey(key);
                Assert.Equal(0, await _published.CheckHealth(first.Url));

                var csv = new StringBuilder("\"x.one\",x2,x3,y\n");
                var rng = new Random(5);
                for (int i = 0; i < 20_000; i++)
                {
                    double a = rng.NextDouble(), b = rng.NextDouble(), c = rng.NextDouble();
                    csv.Append(FormattableString.Invariant($"{a},{b},{c},{2 * a - b + 0.1 * rng.NextDouble()}\n"));
                }
                var id = await Http.UploadCsv(client, csv.ToString());
                for (int i = 0; i < 20; i++)
                    ids.Add(await Http.Submit(client, new { datasetId = id, target = "y", lambdas = new[] { 1.0, 0.1, 0.0001 * (i + 1) } }));
                first.Kill();
            }

            using var second = _published.Start(data, workers: 2);
            using var again = second.ClientWithKey(key);
            foreach (var fit in ids)
            {
                var job = await Http.WaitForFit(again, fit, TimeSpan.FromSeconds(60));
                Assert.Equal("succeeded", job["status"]!.GetValue<string>());
                Assert.InRange(job["result"]!["coefficients"]!["x.one"]!.GetValue<double>(), 1.9, 2.1);
            }

            // A graceful stop exits cleanly and fails nothing.
            int code = second.Stop();
            Assert.Equal(0, code);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task TheHealthProbeFailsWhenNothingListens()
    {
        Assert.Equal(1, await _published.CheckHealth($"http://127.0.0.1:{Published.FreePort()}"));
    }

    /// <summary>Publishes the API once for the class.</summary>
    public sealed class Published : IDisposable
    {
        public Published()
        {
            Directory.CreateDirectory(Output);
            var root = RepositoryRoot();
            var (code, log) = RunDotnet($"publish \"{Path.Combine(root, "src", "RegService.Api", "RegService.Api.csproj")}\" -c Release -o \"{Output}\" --nologo", root, TimeSpan.FromMinutes(5));
            if (code != 0) throw new InvalidOperationException($"dotnet publish failed ({code}):\n{log}");
        }

        public string Output { get; } = Path.Combine(Path.GetTempPath(), "regservice-published", Guid.NewGuid().ToString("N"));

        /// <summary>The admin key every published app in the tests starts with (Auth__AdminKey).</summary>
        public const string AdminKey = "published-test-admin-key-0123456789";

        /// <summary>Starts `dotnet RegService.Api.dll` as the image does (Production, API keys), and waits until it is ready.</summary>
        public RunningApp Start(string dataDirectory, int workers, IDictionary<string, string>? settings = null)
        {
            var process = Launch(dataDirectory, workers, settings, out var url);
            var app = new RunningApp(process, url);
            app.WaitUntilReady();
            return app;
        }

        /// <summary>Starts the published app without waiting: for processes expected to refuse to start.</summary>
        public Process Launch(string dataDirectory, int workers, IDictionary<string, string>? settings, out string url)
        {
            url = $"http://127.0.0.1:{FreePort()}";
            var info = Info("RegService.Api.dll", Output);
            info.Environment["ASPNETCORE_URLS"] = url;
            info.Environment["Storage__DataDirectory"] = dataDirectory;
            info.Environment["Jobs__Workers"] = workers.ToString();
            info.Environment["Jobs__PollMilliseconds"] = "100";
            info.Environment["Auth__AdminKey"] = AdminKey;
            info.Environment.Remove("ASPNETCORE_ENVIRONMENT");
            info.Environment.Remove("DOTNET_ENVIRONMENT");
            foreach (var (key, value) in settings ?? new Dictionary<string, string>()) info.Environment[key] = value;
            return Process.Start(info)!;
        }

        public async Task<int> CheckHealth(string url)
        {
            var info = Info("RegService.Api.dll --check-health", Output);
            info.Environment["ASPNETCORE_URLS"] = url;
            using var process = Process.Start(info)!;
            var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await drain;
            return process.ExitCode;
        }

        public void Dispose()
        {
            try { Directory.Delete(Output, recursive: true); } catch (IOException) { }
        }

        public static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        internal static ProcessStartInfo Info(string arguments, string directory)
        {
            var info = new ProcessStartInfo("dotnet", arguments)
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // The test host's MSBuild settings must not leak into the child.
            foreach (var key in new[] { "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
                info.Environment.Remove(key);
            return info;
        }

        internal static (int Code, string Log) RunDotnet(string arguments, string directory, TimeSpan timeout)
        {
            using var process = Process.Start(Info(arguments, directory))!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout)) { process.Kill(entireProcessTree: true); return (-1, "timed out"); }
            return (process.ExitCode, output.Result + error.Result);
        }

        internal static string RepositoryRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RegService.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("RegService.sln not found above the test output");
        }
    }

    /// <summary>A started service process; output is drained so it never blocks on a full pipe.</summary>
    public sealed class RunningApp : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        public RunningApp(Process process, string url)
        {
            _process = process;
            Url = url;
            process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Url { get; }

        public int ProcessId => _process.Id;

        /// <summary>A client without credentials.</summary>
        public HttpClient Client => new() { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(60) };

        /// <summary>A client that sends <paramref name="key"/> as a bearer token.</summary>
        public HttpClient ClientWithKey(string key)
        {
            var client = Client;
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            return client;
        }

        /// <summary>Creates a key for <paramref name="tenant"/> with the admin key and returns its secret.</summary>
        public async Task<string> CreateKey(string tenant)
        {
            using var admin = ClientWithKey(Published.AdminKey);
            var response = await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant, name = "test" });
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"key creation answered {(int)response.StatusCode}: {text}");
            return JsonNode.Parse(text)!["key"]!.GetValue<string>();
        }

        public void WaitUntilReady()
        {
            using var client = Client;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                if (_process.HasExited) throw new InvalidOperationException($"the service exited ({_process.ExitCode}):\n{Log}");
                try
                {
                    if (client.GetAsync("/health/ready").Result.StatusCode == HttpStatusCode.OK) return;
                }
                catch (AggregateException) { }
                Thread.Sleep(100);
            }
            throw new TimeoutException($"the service did not become ready:\n{Log}");
        }

        public string Log { get { lock (_log) return _log.ToString(); } }

        /// <summary>SIGKILL: no shutdown code runs.</summary>
        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        /// <summary>SIGTERM, then wait for a graceful exit; returns the exit code.</summary>
        public int Stop()
        {
            using (var kill = Process.Start("kill", $"-TERM {_process.Id}")) kill.WaitForExit();
            if (!_process.WaitForExit(30_000)) throw new TimeoutException($"no graceful exit:\n{Log}");
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }
}
