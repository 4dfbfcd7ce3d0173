using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RegService.Api.Tests.Browser;

/// <summary>
/// Headless Chromium (Debian's <c>chromium</c>; CHROMIUM names another binary) on a throwaway profile, driven over
/// the Chrome DevTools Protocol. A missing browser fails the test with how to install it: it is never skipped.
/// </summary>
public sealed partial class Chromium : IAsyncDisposable
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    private readonly Process _process;
    private readonly string _profile;
    private readonly CdpConnection _browser;
    private readonly StringBuilder _log;

    private Chromium(Process process, string profile, CdpConnection browser, StringBuilder log)
    {
        _process = process;
        _profile = profile;
        _browser = browser;
        _log = log;
    }

    public static string Executable()
    {
        var configured = Environment.GetEnvironmentVariable("CHROMIUM");
        if (!string.IsNullOrEmpty(configured)) return configured;
        return Candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException(
            "Chromium is not installed: `apt-get install -y chromium` (.ci/run does it), or set CHROMIUM to a Chromium or Chrome binary");
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex Listening();

    /// <summary>Starts the browser with --remote-debugging-port=0 and connects to the address it prints.</summary>
    public static async Task<Chromium> Start(TimeSpan? timeout = null)
    {
        var profile = Path.Combine(Path.GetTempPath(), "regservice-chromium", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var info = new ProcessStartInfo(Executable())
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank",
                 })
            info.ArgumentList.Add(argument);

        var process = Process.Start(info)!;
        var log = new StringBuilder();
        var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) { endpoint.TrySetException(new InvalidOperationException($"Chromium exited before listening:\n{log}")); return; }
            lock (log) log.AppendLine(e.Data);
            if (Listening().Match(e.Data) is { Success: true } m) endpoint.TrySetResult(m.Groups[1].Value);
        };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var url = await endpoint.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
            var browser = await CdpConnection.Open(new Uri(url));
            return new Chromium(process, profile, browser, log);
        }
        catch (Exception ex)
        {
            Stop(process, profile);
            throw new InvalidOperationException($"Chromium did not start ({ex.Message}):\n{log}", ex);
        }
    }

    /// <summary>A new tab, connected on its own socket.</summary>
    public async Task<CdpPage> NewPage()
    {
        var target = await _browser.Send("Target.createTarget", new JsonObject { ["url"] = "about:blank" });
        var id = target["targetId"]!.GetValue<string>();
        var browserUrl = _browser.Address;
        var page = await CdpConnection.Open(new Uri($"ws://{browserUrl.Authority}/devtools/page/{id}"));
        var result = new CdpPage(page);
        await result.Enable();
        return result;
    }

    public string Log { get { lock (_log) return _log.ToString(); } }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        Stop(_process, _profile);
    }

    private static void Stop(Process process, string profile)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { }
        process.Dispose();
        try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A DevTools protocol error answered to a command.</summary>
public sealed class CdpException(string message) : Exception(message);

/// <summary>One WebSocket to a DevTools target: commands with ids and their answers, and the events in between.</summary>
public sealed class CdpConnection : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    private CdpConnection(Uri address) => Address = address;

    public Uri Address { get; }

    /// <summary>Every event received (method and params), in order.</summary>
    public ConcurrentQueue<(string Method, JsonNode? Params)> Events { get; } = new();

    public static async Task<CdpConnection> Open(Uri address)
    {
        var connection = new CdpConnection(address);
        connection._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await connection._socket.ConnectAsync(address, CancellationToken.None);
        connection._receiving = Task.Run(connection.Receive);
        return connection;
    }

    public async Task<JsonNode> Send(string method, JsonObject? parameters = null, TimeSpan? timeout = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _sending.WaitAsync();
        try { await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None); }
        finally { _sending.Release(); }
        try
        {
            return await answer.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private async Task Receive()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var part = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (part.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage) continue;
                var node = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length))!;
                message.SetLength(0);
                if (node["id"] is { } idNode)
                {
                    if (!_pending.TryGetValue(idNode.GetValue<int>(), out var answer)) continue;
                    if (node["error"] is { } error) answer.TrySetException(new CdpException(error.ToJsonString()));
                    else answer.TrySetResult(node["result"] ?? new JsonObject());
                }
                else if (node["method"] is { } method)
                {
                    Events.Enqueue((method.GetValue<string>(), node["params"]));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or JsonException) { }
        foreach (var answer in _pending.Values) answer.TrySetException(new CdpException("the DevTools connection closed"));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            if (_socket.State == WebSocketState.Open)
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is WebSocketException or TimeoutException or OperationCanceledException) { }
        try { await _receiving.WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        _socket.Dispose();
        _stop.Dispose();
    }
}

/// <summary>A tab: navigate, evaluate JavaScript, wait for the DOM, choose files for inputs, take screenshots.</summary>
public sealed class CdpPage(CdpConnection connection) : IAsyncDisposable
{
    public CdpConnection Connection { get; } = connection;

    /// <summary>Where a wait that times out leaves a screenshot of the page.</summary>
    public static string FailureScreenshots { get; set; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    internal async Task Enable()
    {
        await Connection.Send("Page.enable");
        await Connection.Send("Runtime.enable");
        await Connection.Send("Log.enable");
        await Connection.Send("DOM.enable");
    }

    public async Task Navigate(string url)
    {
        var answer = await Connection.Send("Page.navigate", new JsonObject { ["url"] = url });
        if (answer["errorText"] is { } error) throw new CdpException($"navigating to {url}: {error}");
        await WaitFor("document.readyState === 'complete'", "the page to load");
    }

    /// <summary>The value of a JavaScript expression (promises awaited), as JSON; a thrown exception fails.</summary>
    public async Task<JsonNode?> Evaluate(string expression)
    {
        var answer = await Connection.Send("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["returnByValue"] = true,
            ["awaitPromise"] = true,
        });
        if (answer["exceptionDetails"] is { } exception)
            throw new CdpException($"{expression}\nthrew {exception["exception"]?["description"] ?? exception["text"]}");
        return answer["result"]?["value"];
    }

    public async Task<T> Evaluate<T>(string expression)
    {
        var value = await Evaluate(expression);
        return value is null ? throw new CdpException($"{expression} gave undefined or null") : value.GetValue<T>();
    }

    /// <summary>Polls an expression until it is truthy; on timeout fails with what the page shows.</summary>
    public async Task WaitFor(string expression, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var value = await Evaluate($"!!({expression})");
            if (value?.GetValue<bool>() == true) return;
            if (DateTime.UtcNow > deadline)
            {
                var text = await Evaluate("document.body ? document.body.innerText : ''");
                var shot = Path.Combine(FailureScreenshots, $"timeout-{DateTime.UtcNow:HHmmss-fff}.png");
                try { await Screenshot(shot); } catch (Exception ex) when (ex is CdpException or IOException or TimeoutException) { shot = "none: " + ex.Message; }
                throw new TimeoutException($"waited for {what} ({expression}); screenshot {shot}; the page shows:\n{text}\nconsole:\n{string.Join("\n", Console())}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Chooses files for a file input, as a user's file dialog does (input and change events fire).</summary>
    public async Task SetFiles(string selector, params string[] files)
    {
        var document = await Connection.Send("DOM.getDocument", new JsonObject { ["depth"] = 0 });
        var node = await Connection.Send("DOM.querySelector", new JsonObject
        {
            ["nodeId"] = document["root"]!["nodeId"]!.GetValue<int>(),
            ["selector"] = selector,
        });
        int nodeId = node["nodeId"]!.GetValue<int>();
        if (nodeId == 0) throw new CdpException($"no element matches {selector}");
        await Connection.Send("DOM.setFileInputFiles", new JsonObject
        {
            ["nodeId"] = nodeId,
            ["files"] = new JsonArray([.. files.Select(f => (JsonNode)JsonValue.Create(f))]),
        });
    }

    /// <summary>A PNG of the whole page (beyond the viewport), written to <paramref name="path"/>.</summary>
    public async Task Screenshot(string path)
    {
        var metrics = await Connection.Send("Page.getLayoutMetrics");
        var size = metrics["cssContentSize"] ?? metrics["contentSize"]!;
        var shot = await Connection.Send("Page.captureScreenshot", new JsonObject
        {
            ["format"] = "png",
            ["captureBeyondViewport"] = true,
            ["clip"] = new JsonObject
            {
                ["x"] = 0, ["y"] = 0, ["scale"] = 1,
                ["width"] = Math.Ceiling(size["width"]!.GetValue<double>()),
                ["height"] = Math.Ceiling(size["height"]!.GetValue<double>()),
            },
        });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot["data"]!.GetValue<string>()));
    }

    /// <summary>Uncaught exceptions, console errors and browser log entries (CSP violations among them), as text.</summary>
    public IEnumerable<string> Console() => Connection.Events.Select(e => e.Method switch
    {
        "Runtime.exceptionThrown" => "exception: " + (e.Params?["exceptionDetails"]?["exception"]?["description"] ?? e.Params?["exceptionDetails"]?["text"]),
        "Runtime.consoleAPICalled" => $"console.{e.Params?["type"]}: " + string.Join(" ", e.Params?["args"]?.AsArray().Select(a => a?["value"]?.ToString() ?? a?["description"]?.ToString()) ?? []),
        "Log.entryAdded" => $"log {e.Params?["entry"]?["source"]} {e.Params?["entry"]?["level"]}: {e.Params?["entry"]?["text"]} {e.Params?["entry"]?["url"]}",
        _ => null,
    }).OfType<string>();

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
