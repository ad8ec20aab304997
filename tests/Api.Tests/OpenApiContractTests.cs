using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Autograd.Api.Tests;

/// <summary>The OpenAPI document says what the server does: every example runs, and required fields and closed objects are enforced.</summary>
public sealed class OpenApiContractTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    async Task<JsonElement> Document()
    {
        using var response = await _client.GetAsync("/swagger/v1/swagger.json");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    static IEnumerable<(string Path, string MediaType, string Name, string Body)> Examples(JsonElement document)
    {
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        foreach (var operation in path.Value.EnumerateObject())
        {
            if (!operation.Value.TryGetProperty("requestBody", out var body)) continue;
            foreach (var media in body.GetProperty("content").EnumerateObject())
            {
                if (!media.Value.TryGetProperty("examples", out var examples)) continue;
                foreach (var example in examples.EnumerateObject())
                {
                    var value = example.Value.GetProperty("value");
                    yield return (path.Name, media.Name, example.Name, value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText());
                }
            }
        }
    }

    [Fact]
    public async Task Every_operation_with_a_body_has_examples_and_every_example_is_accepted()
    {
        var document = await Document();
        var examples = Examples(document).ToList();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        foreach (var operation in path.Value.EnumerateObject())
            if (operation.Value.TryGetProperty("requestBody", out _))
                Assert.Contains(examples, e => e.Path == path.Name);

        foreach (var (path, mediaType, name, body) in examples)
        {
            using var response = await _client.PostAsync(path, new StringContent(body, Encoding.UTF8, mediaType));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode is >= 200 and < 300, $"{path} example '{name}' ({mediaType}) answered {(int)response.StatusCode}: {text}");
            if (path == "/minimize" && JsonNode.Parse(text)?["id"]?.GetValue<string>() is { } id) await Jobs.CancelQuietly(_client, id);
        }
    }

    [Fact]
    public async Task Each_required_field_is_refused_when_missing_and_each_request_schema_is_closed()
    {
        var document = await Document();
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var bodies = Examples(document).Where(e => e.MediaType == "application/json").GroupBy(e => e.Path).ToDictionary(g => g.Key, g => g.First().Body);
        (string Path, string Schema, string? Nested)[] contracts =
        [
            ("/gradient", "GradientRequest", null), ("/surface", "SurfaceRequest", null), ("/surface", "SurfaceAxis", "x"),
            ("/minimize", "MinimizeRequest", null), ("/minimize", "OptimizerRequest", "optimizer"), ("/datasets", "DatasetUpload", null),
        ];
        foreach (var (path, schemaName, nested) in contracts)
        {
            var schema = schemas.GetProperty(schemaName);
            Assert.False(schema.GetProperty("additionalProperties").GetBoolean(), $"{schemaName} is not closed");
            var required = schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()!).ToList();
            Assert.NotEmpty(required);
            foreach (var field in required)
            {
                var body = JsonNode.Parse(bodies[path])!.AsObject();
                var target = nested is null ? body : body[nested]!.AsObject();
                Assert.True(target.Remove(field), $"the {path} example has no '{field}'");
                using var response = await _client.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path} without {schemaName}.{field} answered {(int)response.StatusCode}: {text}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
    }
}

/// <summary>Calls from pages of other origins: refused by default, allowed for the configured origins.</summary>
public sealed class CrossOriginTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    static HttpRequestMessage Preflight() => new(HttpMethod.Options, "/minimize")
    {
        Headers =
        {
            { "Origin", "https://notebook.example.org" },
            { "Access-Control-Request-Method", "POST" },
            { "Access-Control-Request-Headers", "content-type" },
        },
    };

    [Fact]
    public async Task Without_configured_origins_no_other_origin_is_allowed()
    {
        using var response = await factory.CreateClient().SendAsync(Preflight());
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task A_configured_origin_may_post_and_read_the_location_of_its_job()
    {
        await using var host = factory.WithSettings(("Cors:AllowedOrigins:0", "https://notebook.example.org"));
        var client = host.CreateClient();
        using var preflight = await client.SendAsync(Preflight());
        Assert.Equal("https://notebook.example.org", preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var post = new HttpRequestMessage(HttpMethod.Post, "/minimize") { Content = new StringContent(Jobs.Tutorial(("maxIterations", 5)), Encoding.UTF8, "application/json") };
        post.Headers.Add("Origin", "https://notebook.example.org");
        using var response = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Contains("Location", response.Headers.GetValues("Access-Control-Expose-Headers").Single());
        Assert.False((await factory.CreateClient().SendAsync(Preflight())).Headers.Contains("Access-Control-Allow-Origin"));
    }
}
