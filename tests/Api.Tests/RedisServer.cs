using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Autograd.Api.Tests;

/// <summary>
/// A private redis-server for one test class: its own free port and temporary directory, no persistence, started
/// as users start it (Debian's package, daemonized) and shut down with <c>redis-cli shutdown nosave</c>. Without
/// <c>/usr/bin/redis-server</c> the class fails with a message saying how to install it: CI installs it, so a
/// missing server is a broken machine, not a reason to skip.
/// </summary>
public sealed class RedisServer : IDisposable
{
    public const string ServerPath = "/usr/bin/redis-server";
    const string CliPath = "/usr/bin/redis-cli";

    readonly string _directory = Directory.CreateTempSubdirectory("autograd-redis-").FullName;

    public RedisServer()
    {
        if (!File.Exists(ServerPath) || !File.Exists(CliPath))
            throw new InvalidOperationException(
                $"The Redis tests need a real redis-server at {ServerPath} (and redis-cli): install it with 'apt-get install -y redis-server' (.ci/run does).");
        Port = FreePort();
        Start();
    }

    public int Port { get; }

    /// <summary>The value for <c>Store:Redis</c>.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    public void Start()
    {
        Run(ServerPath, $"--port {Port} --bind 127.0.0.1 --daemonize yes --save '' --appendonly no --dir {_directory} " +
                        $"--pidfile {_directory}/redis.pid --logfile {_directory}/redis.log");
        WaitUntil(() => Ping(), $"redis-server did not answer on port {Port}; see {_directory}/redis.log");
    }

    /// <summary>Shuts the server down without saving; returns once it no longer answers.</summary>
    public void Stop()
    {
        Run(CliPath, $"-p {Port} shutdown nosave");
        WaitUntil(() => !Ping(), $"redis-server on port {Port} did not stop");
    }

    public bool Ping() => Run(CliPath, $"-p {Port} ping").Trim() == "PONG";

    public void Dispose()
    {
        if (Ping()) Run(CliPath, $"-p {Port} shutdown nosave");
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    static void WaitUntil(Func<bool> condition, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(20)) throw new InvalidOperationException(failure);
            Thread.Sleep(50);
        }
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    static string Run(string file, string arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in SplitArguments(arguments)) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }

    /// <summary>Splits on spaces; <c>''</c> is an empty argument (as a shell would pass <c>--save ''</c>).</summary>
    static IEnumerable<string> SplitArguments(string arguments) =>
        arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a == "''" ? "" : a);
}
