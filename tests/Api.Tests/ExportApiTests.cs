using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Api.Export;
using Autograd.Contracts;
using Autograd.Expressions;
using Xunit.Abstractions;

namespace Autograd.Api.Tests;

/// <summary>
/// GET /minimize/{id}/export: the PyTorch and SciPy scripts run here, under Debian's python3 with python3-torch and
/// python3-scipy (installed by .ci/run), all in one Python process to pay torch's start-up once, and must print the
/// job's final parameters to 1e-9 relative. R torch and JAX are not installed here: their scripts are checked as text.
/// </summary>
public sealed class ExportApiTests(AutogradApiFactory factory, ITestOutputHelper output) : IClassFixture<AutogradApiFactory>
{
    const string Python = "/usr/bin/python3";
    readonly HttpClient _client = factory.CreateClient();

    /// <summary>Every function of the language, with lets, indices and slices, at points away from the kinks.</summary>
    static readonly string EveryOp = "u = p * q; w = cumsum(p)[2:end]; h = p[1:2]\n"
        + "sum(square(u)) + mean(softplus(p)) + sigmoid(q) + logsumexp(p) + atan2(q, 2) + hypot(p[1], q) + sum(abs(p - 0.3))"
        + " + max(p) - min(p) + sum(relu(p)) + sum(diff(p)^2) + dot(p, p) + prod(p) / 10 + sum(clamp(p, -0.5, 0.5))"
        + " + exp(-q^2) + log1p(q^2) + tanh(q) + sum(w) + sum(h) + erf(q) + pow(q^2 + 1, 0.5) + min(q, 1) + max(q, -1)"
        + " + sqrt(q^2 + 1) + sin(q) + cos(q) + asinh(q) + log(q^2 + 2) + expm1(q / 10) + log2(q^2 + 1) + log10(q^2 + 1)"
        + " + atan(q) + sinh(q / 3) + cosh(q / 3) + asin(tanh(q) / 2) + acos(tanh(q) / 2) + atanh(tanh(q) / 2)"
        + " + acosh(q^2 + 2) + tan(tanh(q) / 2) + length(p) + sum(seq_along(p) * p) + e * pi * q";

    static string Rosenbrock(string optimizer, int maxIterations, double b = 5, string extra = "") => $$"""
        {"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": {{b}}},
         "optimizer": {{optimizer}}, "maxIterations": {{maxIterations}}{{extra}}}
        """;

    /// <summary>A straight-line fit over 1,100 rows: 2,200 data values, past the inline limit, so the script reads data.csv.</summary>
    static string Lab()
    {
        var x = Enumerable.Range(0, 1100).Select(i => 2.0 * i / 1100).ToArray();
        var y = x.Select((v, i) => 1 + v + 0.25 * Math.Sin(7.3 * i)).ToArray();
        return $$"""
            {"expression": "mean((y - (b0 + b1*x))^2)", "parameters": {"b0": 0, "b1": 0}, "data": {"x": {{Api.Numbers(x)}}, "y": {{Api.Numbers(y)}}},
             "optimizer": {"type": "sgd", "learningRate": 0.1, "momentum": 0.9}, "maxIterations": 200}
            """;
    }

    sealed record Case(string Name, string Json, string[] Languages);

    static readonly Case[] Cases =
    [
        new("sgd, the tutorial", Rosenbrock("""{"type": "sgd", "learningRate": 0.01}""", 1000), ["pytorch", "scipy"]),
        new("adam with a gradient tolerance", Rosenbrock("""{"type": "adam", "learningRate": 0.05}""", 400, extra: ""","gradientNormTolerance": 1e-3"""), ["pytorch", "scipy"]),
        new("adamw amsgrad", Rosenbrock("""{"type": "adamw", "learningRate": 0.02, "amsgrad": true, "weightDecay": 0.05}""", 150), ["pytorch", "scipy"]),
        new("rmsprop centered with momentum", Rosenbrock("""{"type": "rmsprop", "learningRate": 0.003, "centered": true, "momentum": 0.5}""", 150), ["pytorch", "scipy"]),
        new("adagrad", Rosenbrock("""{"type": "adagrad", "learningRate": 0.2, "learningRateDecay": 0.01}""", 150), ["pytorch", "scipy"]),
        // Without a line search, torch's L-BFGS takes the same steps as the service's (see the README for the line search).
        new("lbfgs without line search", Rosenbrock("""{"type": "lbfgs", "lineSearch": "none", "learningRate": 0.5}""", 40), ["pytorch"]),
        // With one, the iterations differ; the results agree once both have converged to the minimum (1, 1).
        new("lbfgs to convergence", Rosenbrock("""{"type": "lbfgs"}""", 500, b: 100, extra: ""","gradientNormTolerance": 1e-11"""), ["pytorch", "scipy"]),
        new("sgd with momentum over data.csv", Lab(), ["pytorch", "scipy"]),
        new("every op", JsonSerializer.Serialize(new
        {
            expression = EveryOp, parameters = new { p = new[] { 0.2, -0.7, 1.1 }, q = 0.4 },
            optimizer = new { type = "adam", learningRate = 0.01 }, maxIterations = 60,
        }), ["pytorch", "scipy"]),
    ];

    [Fact]
    public async Task PyTorch_and_scipy_scripts_print_the_jobs_final_parameters_to_1e_9()
    {
        Assert.True(File.Exists(Python), $"{Python} is needed (apt-get install python3-torch python3-scipy; .ci/run does)");
        using var timeout = Jobs.Timeout(240);
        var directory = Directory.CreateTempSubdirectory("export-");
        try
        {
            var scripts = new List<(string Path, Case Case, string Language, MinimizeJob Job)>();
            foreach (var (test, index) in Cases.Select((c, i) => (c, i)))
            {
                var job = await Datasets.RunOk(_client, test.Json, timeout.Token);
                foreach (var language in test.Languages)
                {
                    var folder = Directory.CreateDirectory(Path.Combine(directory.FullName, $"{index}-{language}")).FullName;
                    var script = await Export(job.Id, language, timeout.Token);
                    Assert.Equal("text/x-python", script.MediaType);
                    var path = Path.Combine(folder, "script.py");
                    await File.WriteAllTextAsync(path, script.Text, timeout.Token);
                    if (script.Text.Contains("data.csv"))
                    {
                        using var csv = await _client.GetAsync($"/minimize/{job.Id}/export/data.csv", timeout.Token);
                        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
                        await File.WriteAllTextAsync(Path.Combine(folder, "data.csv"), await csv.Content.ReadAsStringAsync(timeout.Token), timeout.Token);
                    }
                    scripts.Add((path, test, language, job));
                }
            }
            Assert.Contains(scripts, s => File.Exists(Path.Combine(Path.GetDirectoryName(s.Path)!, "data.csv")));

            var printed = await RunAll(scripts.Select(s => s.Path).ToList(), timeout.Token);
            foreach (var (path, test, language, job) in scripts)
            {
                var result = JsonNode.Parse(printed[path])!.AsObject();
                foreach (var (name, expected) in job.Parameters!)
                {
                    var actual = result[name] is JsonArray array ? array.Select(v => v!.GetValue<double>()).ToArray() : [result[name]!.GetValue<double>()];
                    Jobs.Relative(expected.Values, actual, 1e-9, $"{test.Name}, {language}, {name}");
                }
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Runs the scripts in one Python process, each in its own folder; returns each one's last line.</summary>
    async Task<Dictionary<string, string>> RunAll(IReadOnlyList<string> paths, CancellationToken cancellation)
    {
        const string runner = """
            import contextlib, io, os, runpy, sys, traceback
            for path in sys.argv[1:]:
                os.chdir(os.path.dirname(path))
                out = io.StringIO()
                try:
                    with contextlib.redirect_stdout(out):
                        runpy.run_path(path, run_name="__main__")
                    print("RESULT", path, out.getvalue().strip().splitlines()[-1], flush=True)
                except Exception:
                    print("FAILED", path, traceback.format_exc().replace("\n", " | "), flush=True)
            """;
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(runner);
        foreach (var path in paths) start.ArgumentList.Add(path);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellation);
        var stderr = process.StandardError.ReadToEndAsync(cancellation);
        await process.WaitForExitAsync(cancellation);
        output.WriteLine($"{paths.Count} scripts in one python3 process: {clock.Elapsed.TotalSeconds:0.0} s");
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(process.ExitCode == 0, $"python3 exited with {process.ExitCode}: {await stderr}");
        Assert.DoesNotContain(lines, l => l.StartsWith("FAILED", StringComparison.Ordinal));
        return lines.Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', 3)).ToDictionary(p => p[1], p => p[2]);
    }

    async Task<(string Text, string? MediaType)> Export(string id, string language, CancellationToken cancellation)
    {
        using var response = await _client.GetAsync($"/minimize/{id}/export?lang={language}", cancellation);
        var text = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
        return (text, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_r_torch_script_follows_the_tutorials_idiom()
    {
        using var timeout = Jobs.Timeout();
        var job = await Datasets.RunOk(_client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token);
        using var response = await _client.GetAsync($"/minimize/{job.Id}/export?lang=r-torch", timeout.Token);
        Assert.Equal("text/x-r", response.Content.Headers.ContentType?.MediaType);
        var script = await response.Content.ReadAsStringAsync(timeout.Token);
        Assert.Contains("x <- torch_tensor(c(-1, 1), requires_grad = TRUE)", script);
        Assert.Contains("(((a - x[1]) ^ 2) + (b * ((x[2] - (x[1] ^ 2)) ^ 2)))", script);
        Assert.Contains("value$backward()", script);
        Assert.Contains("with_no_grad({\n    x$sub_(lr * x$grad)\n    x$grad$zero_()\n  })", script);
        Assert.Contains("lr <- 0.01", script);
        Assert.Contains("for (i in 1:10) {", script);
    }

    [Fact]
    public async Task The_jax_script_differentiates_with_jax_and_writes_the_rule_out()
    {
        using var timeout = Jobs.Timeout();
        var job = await Datasets.RunOk(_client, Rosenbrock("""{"type": "adam", "learningRate": 0.05}""", 10), timeout.Token);
        var (script, mediaType) = await Export(job.Id, "jax", timeout.Token);
        Assert.Equal("text/x-python", mediaType);
        Assert.Contains("jax.config.update(\"jax_enable_x64\", True)", script);
        Assert.Contains("jax.value_and_grad(lambda flat: _loss(*_unpack(flat)))", script);
        Assert.Contains("_denominator = jnp.sqrt(_v) / math.sqrt(1.0 - 0.999 ** _t) + 1e-08", script);
    }

    /// <summary>Every function of the language (by the registry's names and argument counts) has a spelling in every library.</summary>
    [Fact]
    public void Every_function_of_the_language_has_a_translation_to_every_library()
    {
        var keys = new List<string>();
        foreach (var name in Functions.Names)
            for (var arity = 1; arity <= 3; arity++)
            {
                bool callable;
                try
                {
                    callable = Functions.IsForm(name, arity, default) || Functions.Resolve(name, arity, default) is not null;
                }
                catch (FormulaException)
                {
                    callable = false;
                }
                if (callable) keys.Add($"{name}/{arity}");
            }
        Assert.Contains("min/1", keys);
        Assert.Contains("min/2", keys);
        Assert.Contains("clamp/3", keys);
        foreach (var table in new[] { OpTranslations.PyTorch, OpTranslations.RTorch, OpTranslations.Jax, OpTranslations.Scipy })
            Assert.Equal([], keys.Where(k => !table.ContainsKey(k) && !OpTranslations.NotExported.Contains(k)));
    }

    [Theory]
    [InlineData("""{"type": "newton"}""", "scipy", 422, "newton")]
    [InlineData("""{"type": "lbfgs"}""", "jax", 422, "lbfgs")]
    [InlineData("""{"type": "sgd"}""", "fortran", 400, null)]
    public async Task An_export_that_cannot_be_done_is_a_problem_naming_what(string optimizer, string language, int status, string? unsupported)
    {
        using var timeout = Jobs.Timeout();
        var job = await Datasets.RunOk(_client, Rosenbrock(optimizer, 3), timeout.Token);
        using var response = await _client.GetAsync($"/minimize/{job.Id}/export?lang={language}", timeout.Token);
        var text = await response.Content.ReadAsStringAsync(timeout.Token);
        Assert.True((int)response.StatusCode == status, text);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        if (unsupported is null) Assert.Equal("lang", problem.GetProperty("field").GetString());
        else Assert.Equal([unsupported], problem.GetProperty("unsupported").EnumerateArray().Select(e => e.GetString()));
    }

    /// <summary>What the scripts cannot reproduce is refused rather than exported without it: bounds, Levenberg-Marquardt, matrices.</summary>
    [Theory]
    [InlineData("""{"expression": "(x[1] - 3)^2 + (x[2] + 1)^2", "parameters": {"x": [0, 0]}, "bounds": {"x": {"max": 1}}, "optimizer": {"type": "sgd", "learningRate": 0.1}, "maxIterations": 5}""", "bounds")]
    [InlineData("""{"expression": "mean((y - b0*exp(-b1*t))^2)", "parameters": {"b0": 1, "b1": 0.1}, "data": {"t": [0, 1, 2, 3], "y": [5, 3, 1.9, 1.1]}, "optimizer": {"type": "levenberg-marquardt"}, "maxIterations": 5}""", "levenberg-marquardt")]
    [InlineData("""{"expression": "sum((W %*% v - c)^2)", "parameters": {"W": [[1, 0], [0, 1]]}, "constants": {"v": [1, 2], "c": [3, 4]}, "optimizer": {"type": "sgd", "learningRate": 0.1}, "maxIterations": 5}""", "W")]
    public async Task A_job_the_scripts_cannot_reproduce_is_refused_naming_why(string request, string unsupported)
    {
        using var timeout = Jobs.Timeout();
        var job = await Datasets.RunOk(_client, request, timeout.Token);
        foreach (var language in new[] { "pytorch", "scipy" })
        {
            using var response = await _client.GetAsync($"/minimize/{job.Id}/export?lang={language}", timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            Assert.True((int)response.StatusCode == 422, text);
            var problem = JsonDocument.Parse(text).RootElement;
            Assert.Equal("export-unsupported", problem.GetProperty("code").GetString());
            Assert.Contains(unsupported, problem.GetProperty("unsupported").EnumerateArray().Select(e => e.GetString()));
        }
    }

    [Fact]
    public async Task A_race_exports_the_run_asked_for_and_by_default_the_winner()
    {
        using var timeout = Jobs.Timeout();
        var race = Jobs.Tutorial(("optimizer", null), ("maxIterations", 50),
            ("optimizers", JsonNode.Parse("""[{"type": "sgd", "learningRate": 0.001}, {"type": "adam", "learningRate": 0.05}]""")));
        var job = await Datasets.RunOk(_client, race, timeout.Token);
        Assert.Equal(1, job.Race![0].Run);
        Assert.Contains("torch.optim.Adam(", (await Export(job.Id, "pytorch", timeout.Token)).Text);
        Assert.Contains("torch.optim.SGD(", (await Export(job.Id, "pytorch&run=0", timeout.Token)).Text);
        using var response = await _client.GetAsync($"/minimize/{job.Id}/export?lang=pytorch&run=2", timeout.Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Exporting_an_unknown_job_is_404()
    {
        using var timeout = Jobs.Timeout();
        using var response = await _client.GetAsync("/minimize/nope/export?lang=pytorch", timeout.Token);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
