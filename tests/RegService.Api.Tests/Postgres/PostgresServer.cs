using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace RegService.Api.Tests.Postgres;

/// <summary>
/// A throwaway PostgreSQL cluster for tests: initdb in a temporary directory, started on a free
/// port on 127.0.0.1 (its socket in that directory too), stopped and deleted on dispose. Uses the
/// binaries under /usr/lib/postgresql/*/bin; initdb and pg_ctl refuse root, so under root they run as
/// the <c>postgres</c> OS user (runuser) on a directory chowned to it. Each caller gets its own
/// database (<see cref="CreateDatabase"/>). Without the binaries nothing starts, and tests marked
/// <see cref="PostgresFactAttribute"/> or run by <see cref="StoreFactAttribute"/> on a
/// <see cref="RequiresPostgresAttribute"/> class report skipped with <see cref="SkipReason"/>.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private static readonly Lazy<string?> BinDirectory = new(FindBinaries);
    private readonly object _gate = new();
    private string? _directory;
    private bool _running;

    /// <summary>Null when PostgreSQL's binaries are installed; else why the tests are skipped.</summary>
    public static string? SkipReason => BinDirectory.Value is null
        ? "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); install it with: apt-get install -y postgresql"
        : null;

    public int Port { get; private set; }

    private string Directory => _directory ?? throw new InvalidOperationException("the test cluster has not started");

    private string DataPath => Path.Combine(Directory, "data");

    private string SocketPath => Path.Combine(Directory, "sock");

    /// <summary>Starts the cluster the first time a database is asked for.</summary>
    private void EnsureStarted()
    {
        lock (_gate)
        {
            if (_directory is not null) return;
            if (SkipReason is { } reason) throw new InvalidOperationException(reason);
            var directory = Path.Combine(Path.GetTempPath(), "regservice-pg-" + Guid.NewGuid().ToString("N")[..12]);
            System.IO.Directory.CreateDirectory(directory);
            System.IO.Directory.CreateDirectory(Path.Combine(directory, "sock"));
            _directory = directory;
            if (IsRoot) Run("chown", ["-R", "postgres:postgres", directory], asPostgres: false);
            Run(Tool("initdb"), ["-D", DataPath, "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync"]);
            Port = FreePort();
            Start();
        }
    }

    /// <summary>Starts the (stopped) cluster on its port; waits until it accepts connections.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_running) return;
            var options = $"-p {Port} -k {SocketPath} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200";
            Run(Tool("pg_ctl"), ["-D", DataPath, "-l", Path.Combine(Directory, "log"), "-o", options, "-w", "-t", "60", "start"]);
            _running = true;
        }
    }

    /// <summary>Stops the cluster at once (as a crash would: no shutdown checkpoint).</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (!_running) return;
            Run(Tool("pg_ctl"), ["-D", DataPath, "-m", "immediate", "-w", "stop"]);
            _running = false;
        }
    }

    /// <summary>A new empty database with a random name; its connection string.</summary>
    public string CreateDatabase()
    {
        EnsureStarted();
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        using (var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false"))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            command.ExecuteNonQuery();
        }
        return ConnectionString(name);
    }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=5;Command Timeout=30";

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        if (_directory is null) return;
        try
        {
            Stop();
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"Could not stop the test PostgreSQL cluster: {ex.Message}");
        }
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static string Tool(string name) => Path.Combine(BinDirectory.Value!, name);

    private static string? FindBinaries()
    {
        // REGSERVICE_POSTGRES_ROOT points elsewhere (a nonexistent path shows what a machine without PostgreSQL reports).
        var root = Environment.GetEnvironmentVariable("REGSERVICE_POSTGRES_ROOT") is { Length: > 0 } given ? given : "/usr/lib/postgresql";
        if (!System.IO.Directory.Exists(root)) return null;
        return System.IO.Directory.EnumerateDirectories(root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")) && File.Exists(Path.Combine(bin, "postgres")))
            .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var v) ? v : 0)
            .FirstOrDefault();
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Runs a tool (as the postgres user under root); throws with its output when it fails.</summary>
    private static void Run(string file, string[] arguments, bool asPostgres = true)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres && IsRoot)
        {
            start.FileName = "runuser";
            foreach (var a in (string[])["-u", "postgres", "--", file]) start.ArgumentList.Add(a);
        }
        else
        {
            start.FileName = file;
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["LC_ALL"] = "C";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish in 120 s");
        }
        if (process.ExitCode != 0)
        {
            var text = (output.Wait(TimeSpan.FromSeconds(2)) ? output.Result : "") + (error.Wait(TimeSpan.FromSeconds(2)) ? error.Result : "");
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {text}");
        }
    }
}
