using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Autograd.Api.Tests;

/// <summary>With API keys configured, every job and dataset belongs to its key: other keys get 404 on every endpoint.</summary>
public sealed class TenantTests : IClassFixture<AutogradApiFactory>, IDisposable
{
    const string KeyA = "key-of-team-a-3f9c", KeyB = "key-of-team-b-81d2", KeyC = "key-of-team-c-slow";

    readonly WebApplicationFactory<Program> _host;

    public TenantTests(AutogradApiFactory factory) =>
        _host = factory.WithSettings(
            ("Auth:ApiKeys:0:Name", "team-a"), ("Auth:ApiKeys:0:Sha256", Hash(KeyA)),
            ("Auth:ApiKeys:1:Name", "team-b"), ("Auth:ApiKeys:1:Sha256", Hash(KeyB)),
            ("Auth:ApiKeys:2:Name", "team-c"), ("Auth:ApiKeys:2:Sha256", Hash(KeyC)), ("Auth:ApiKeys:2:PermitsPerMinute", "3"));

    public void Dispose() => _host.Dispose();

    static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key))).ToLowerInvariant();

    HttpClient Client(string? key, bool bearer = false)
    {
        var client = _host.CreateClient();
        if (key is null) return client;
        if (bearer) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        else client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    [Fact]
    public async Task Each_key_sees_only_its_own_jobs_and_datasets_on_every_endpoint()
    {
        using var timeout = Jobs.Timeout(60);
        var a = Client(KeyA);
        var b = Client(KeyB, bearer: true);

        var job = await Jobs.Start(a, Jobs.Tutorial(("maxIterations", 50)), timeout.Token);
        await Jobs.ReadAll(a, job.Id, timeout.Token);
        var dataset = await Datasets.CreateCsv(a, "x,y\n1,2\n2,3\n", timeout.Token);

        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync($"/minimize/{job.Id}", timeout.Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync($"/minimize/{job.Id}/trace", timeout.Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await a.GetAsync($"/datasets/{dataset.Id}", timeout.Token)).StatusCode);

        foreach (var path in new[] { $"/minimize/{job.Id}", $"/minimize/{job.Id}/trace", $"/minimize/{job.Id}/events", $"/datasets/{dataset.Id}" })
        {
            using var response = await b.GetAsync(path, timeout.Token);
            await Api.ReadProblem(response, 404, null);
        }
        await Api.ReadProblem(await b.DeleteAsync($"/minimize/{job.Id}", timeout.Token), 404, "job-not-found");
        await Api.ReadProblem(await b.DeleteAsync($"/datasets/{dataset.Id}", timeout.Token), 404, "dataset-not-found");
        var useOthersData = $$"""{"expression": "mean((y - b*x)^2)", "parameters": {"b": 1}, "dataset": "{{dataset.Id}}"}""";
        await Api.ReadProblem(await b.PostAsync("/gradient", new StringContent(useOthersData, Encoding.UTF8, "application/json"), timeout.Token), 400, "dataset-not-found");

        Assert.DoesNotContain(job.Id, await b.GetStringAsync("/minimize", timeout.Token));
        Assert.DoesNotContain(dataset.Id, await b.GetStringAsync("/datasets", timeout.Token));
        Assert.Contains(job.Id, await a.GetStringAsync("/minimize", timeout.Token));
        Assert.Contains(dataset.Id, await a.GetStringAsync("/datasets", timeout.Token));

        // Still there for its owner after the other key's attempts.
        Assert.Equal(HttpStatusCode.NoContent, (await a.DeleteAsync($"/datasets/{dataset.Id}", timeout.Token)).StatusCode);
        Assert.Equal(32, job.Id.Length);
    }

    [Fact]
    public async Task Without_a_key_or_with_a_wrong_one_the_api_answers_401_but_health_answers()
    {
        using var none = await Client(null).PostAsync("/gradient", new StringContent("""{"expression": "x", "parameters": {"x": 1}}""", Encoding.UTF8, "application/json"));
        await Api.ReadProblem(none, 401, "api-key-required");
        Assert.Contains("Bearer", none.Headers.WwwAuthenticate.ToString());
        using var wrong = await Client("not-a-key").GetAsync("/minimize");
        await Api.ReadProblem(wrong, 401, "invalid-api-key");
        using var health = await Client(null).GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_key_over_its_rate_gets_429_with_retry_after_and_other_keys_are_not_slowed()
    {
        var c = Client(KeyC);
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? rejected = null;
        for (var i = 0; i < 5; i++)
        {
            var response = await c.GetAsync("/datasets");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) rejected ??= response;
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        var problem = await Api.ReadProblem(rejected!, 429, "rate-limited");
        Assert.True(problem.GetProperty("retryAfterSeconds").GetInt32() >= 1);
        Assert.True(rejected!.Headers.RetryAfter is not null);
        Assert.Equal(HttpStatusCode.OK, (await Client(KeyA).GetAsync("/datasets")).StatusCode);
    }
}

/// <summary>Without keys the service runs for one user, as before: no key needed, everything visible.</summary>
public sealed class SingleUserTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    [Fact]
    public async Task Without_configured_keys_no_key_is_needed_and_ids_carry_128_bits()
    {
        var client = factory.CreateClient();
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 5)), timeout.Token);
        Assert.Matches("^[0-9a-f]{32}$", job.Id);
        using var list = await client.GetAsync("/minimize", timeout.Token);
        using var document = JsonDocument.Parse(await list.Content.ReadAsStringAsync(timeout.Token));
        Assert.Contains(document.RootElement.EnumerateArray(), j => j.GetProperty("id").GetString() == job.Id);
    }
}
