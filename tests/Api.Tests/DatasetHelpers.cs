using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>
/// The tutorial's lab data, y = 1 + x + e with x ~ U(0, 2) and e ~ N(0, 0.25²) (Box-Muller), from a seeded
/// <see cref="Random"/>, and what a test needs to know about it: the least-squares line, sums of squares, CSV and JSON.
/// </summary>
internal sealed class LabData
{
    LabData(double[] x, double[] y) => (X, Y) = (x, y);

    public double[] X { get; }
    public double[] Y { get; }
    public int Rows => X.Length;

    public static LabData Generate(int rows, int seed)
    {
        var random = new Random(seed);
        var x = new double[rows];
        var y = new double[rows];
        for (var i = 0; i < rows; i++)
        {
            x[i] = 2 * random.NextDouble();
            // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
            var u1 = 1 - random.NextDouble();
            var u2 = random.NextDouble();
            var e = 0.25 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            y[i] = 1 + x[i] + e;
        }
        return new LabData(x, y);
    }

    /// <summary>
    /// The closed-form least-squares line: the normal equations [n, Σx; Σx, Σx²] (b0, b1) = (Σy, Σxy), solved
    /// after centring (the same solution, without the cancellation of the raw sums).
    /// </summary>
    public (double B0, double B1) LeastSquares()
    {
        var (mx, my) = (X.Average(), Y.Average());
        double sxx = 0, sxy = 0;
        for (var i = 0; i < Rows; i++)
        {
            sxx += (X[i] - mx) * (X[i] - mx);
            sxy += (X[i] - mx) * (Y[i] - my);
        }
        var b1 = sxy / sxx;
        return (my - b1 * mx, b1);
    }

    /// <summary>The residual sum of squares of the line b0 + b1 x.</summary>
    public double Rss(double b0, double b1)
    {
        double sum = 0;
        for (var i = 0; i < Rows; i++)
        {
            var r = Y[i] - (b0 + b1 * X[i]);
            sum += r * r;
        }
        return sum;
    }

    /// <summary>The total sum of squares of y about its mean.</summary>
    public double Tss()
    {
        var mean = Y.Average();
        return Y.Sum(v => (v - mean) * (v - mean));
    }

    /// <summary>"x,y" then one row per line, every number in round-trip ("R") form.</summary>
    public string Csv(string newline = "\n")
    {
        var text = new StringBuilder("x,y").Append(newline);
        for (var i = 0; i < Rows; i++)
            text.Append(X[i].ToString("R", CultureInfo.InvariantCulture)).Append(',')
                .Append(Y[i].ToString("R", CultureInfo.InvariantCulture)).Append(newline);
        return text.ToString();
    }

    /// <summary>The POST /datasets JSON body.</summary>
    public string ColumnsJson() => $$$"""{"columns": {"x": {{{Api.Numbers(X)}}}, "y": {{{Api.Numbers(Y)}}}}}""";

    /// <summary>The columns as an inline <c>data</c> object.</summary>
    public JsonNode DataNode() => JsonNode.Parse($$"""{"x": {{Api.Numbers(X)}}, "y": {{Api.Numbers(Y)}}}""")!;
}

/// <summary>Helpers for /datasets and for running model fits to the end.</summary>
internal static class Datasets
{
    public static async Task<HttpResponseMessage> PostCsv(HttpClient client, string csv, CancellationToken cancellation) =>
        await client.PostAsync("/datasets", new StringContent(csv, Encoding.UTF8, "text/csv"), cancellation);

    public static async Task<HttpResponseMessage> PostJson(HttpClient client, string json, CancellationToken cancellation) =>
        await client.PostAsync("/datasets", new StringContent(json, Encoding.UTF8, "application/json"), cancellation);

    public static async Task<HttpResponseMessage> PostBytes(HttpClient client, ReadOnlyMemory<byte> body, string contentType, CancellationToken cancellation)
    {
        var content = new ReadOnlyMemoryContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await client.PostAsync("/datasets", content, cancellation);
    }

    /// <summary>Expects 201 with <c>Location: /datasets/{id}</c>; returns the created dataset.</summary>
    public static async Task<DatasetCreated> ReadCreated(HttpResponseMessage response, CancellationToken cancellation)
    {
        var body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Expected 201, got {(int)response.StatusCode}: {body}");
        var created = JsonSerializer.Deserialize<DatasetCreated>(body, Api.Json)!;
        Assert.False(string.IsNullOrWhiteSpace(created.Id));
        Assert.Equal($"/datasets/{created.Id}", response.Headers.Location?.OriginalString);
        return created;
    }

    public static async Task<DatasetCreated> CreateCsv(HttpClient client, string csv, CancellationToken cancellation)
    {
        using var response = await PostCsv(client, csv, cancellation);
        return await ReadCreated(response, cancellation);
    }

    public static async Task<DatasetCreated> CreateJson(HttpClient client, string json, CancellationToken cancellation)
    {
        using var response = await PostJson(client, json, cancellation);
        return await ReadCreated(response, cancellation);
    }

    public static async Task<DatasetInfo> Get(HttpClient client, string id, CancellationToken cancellation)
    {
        using var response = await client.GetAsync($"/datasets/{id}", cancellation);
        var body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<DatasetInfo>(body, Api.Json)!;
    }

    /// <summary>DELETE for clean-up: never throws.</summary>
    public static async Task DeleteQuietly(HttpClient client, string? id)
    {
        if (id is null) return;
        try
        {
            using var timeout = Jobs.Timeout(10);
            using var _ = await client.DeleteAsync($"/datasets/{id}", timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
        }
    }

    /// <summary>A model-shorthand fit of the lab's line: b0 + b1*x to y by mse from (0, 0) over a stored dataset.</summary>
    public static string LabFit(string dataset, JsonObject optimizer, int maxIterations, params (string Field, JsonNode? Value)[] changes)
    {
        var body = new JsonObject
        {
            ["model"] = "b0 + b1*x",
            ["target"] = "y",
            ["loss"] = "mse",
            ["dataset"] = dataset,
            ["parameters"] = new JsonObject { ["b0"] = 0, ["b1"] = 0 },
            ["optimizer"] = optimizer,
            ["maxIterations"] = maxIterations,
        };
        return Jobs.With(body.ToJsonString(), changes);
    }

    public static JsonObject Sgd(double learningRate) => new() { ["type"] = "sgd", ["learningRate"] = learningRate };

    /// <summary>Posts a job with <c>Prefer: wait</c> and, if it is still running when the answer comes, polls it to its end.</summary>
    public static async Task<MinimizeJob> Run(HttpClient client, string json, CancellationToken cancellation)
    {
        using var response = await Jobs.Post(client, json, cancellation, prefer: "wait=30");
        var body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted,
            $"Expected 200 or 202, got {(int)response.StatusCode}: {body}");
        var job = JsonSerializer.Deserialize<MinimizeJob>(body, Api.Json)!;
        return job.FinishedAt is not null ? job : await Jobs.WaitFor(client, job.Id, j => j.FinishedAt is not null, cancellation);
    }

    /// <summary>Like <see cref="Run"/>, and checks that the job succeeded.</summary>
    public static async Task<MinimizeJob> RunOk(HttpClient client, string json, CancellationToken cancellation)
    {
        var job = await Run(client, json, cancellation);
        Assert.True(job.Status == JobStatus.Succeeded, $"Expected the job to succeed, got {job.Status} ({job.StopReason}): {job.Message}");
        return job;
    }

    /// <summary>GET /minimize/{id}/trace as the raw JSON text.</summary>
    public static async Task<string> TraceJson(HttpClient client, string id, CancellationToken cancellation)
    {
        using var response = await client.GetAsync($"/minimize/{id}/trace", cancellation);
        var body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        return body;
    }

    public static MinimizeProgress[] Trace(string json) => JsonSerializer.Deserialize<MinimizeProgress[]>(json, Api.Json)!;

    /// <summary>Writes "x,y" and the rows straight into UTF-8 bytes, numbers in round-trip form, without a string per cell.</summary>
    public static ArrayBufferWriter<byte> Utf8Csv(int rows, int seed, out double[] x, out double[] y)
    {
        var data = LabData.Generate(rows, seed);
        (x, y) = (data.X, data.Y);
        var writer = new ArrayBufferWriter<byte>(rows * 40 + 16);
        Write(writer, "x,y\n"u8);
        for (var i = 0; i < rows; i++)
        {
            WriteNumber(writer, x[i]);
            Write(writer, ","u8);
            WriteNumber(writer, y[i]);
            Write(writer, "\n"u8);
        }
        return writer;

        static void Write(ArrayBufferWriter<byte> writer, ReadOnlySpan<byte> bytes) => writer.Write(bytes);

        static void WriteNumber(ArrayBufferWriter<byte> writer, double value)
        {
            var span = writer.GetSpan(32);
            if (!value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture))
                throw new InvalidOperationException("32 bytes hold any double in round-trip form.");
            writer.Advance(written);
        }
    }
}
