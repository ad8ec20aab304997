using System.Diagnostics;
using System.Text.Json;

namespace Autograd.Tests.Optimization;

/// <summary>Runs a Python script with Debian's python3-scipy (installed by .ci/run) and reads its JSON answer.</summary>
static class Scipy
{
    static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>Runs <paramref name="script"/> with <paramref name="input"/> as JSON on stdin; the script prints JSON.</summary>
    public static JsonElement Run(string script, object input)
    {
        var start = new ProcessStartInfo(Python, ["-c", script])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start.");
        process.StandardInput.Write(JsonSerializer.Serialize(input));
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"python3 failed ({process.ExitCode}): {error}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
