using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Infrastructure;

/// <summary>One API key: who it belongs to and the SHA-256 of the key (the key itself is never stored).</summary>
public sealed class ApiKeyEntry
{
    /// <summary>The tenant's name; jobs and datasets created with this key belong to it.</summary>
    public string Name { get; set; } = "";

    /// <summary>Hex SHA-256 of the key's UTF-8 bytes, e.g. from <c>printf %s "$KEY" | sha256sum</c>.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>Requests a minute for this key; 0 takes <see cref="AuthOptions.PermitsPerMinute"/>.</summary>
    public int PermitsPerMinute { get; set; }
}

/// <summary>Optional API keys; configured under <c>Auth</c>, documented in the README.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>With none, the service runs for a single user: no key is asked for and every client sees every job.</summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];

    /// <summary>Requests a minute per key (a fixed window), unless the key sets its own.</summary>
    public int PermitsPerMinute { get; set; } = 6000;

    public bool Enabled => ApiKeys.Count > 0;
}

/// <summary>
/// Tenants by API key (<c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>): authentication that names the key's
/// owner, a policy that asks for a key on every API endpoint once keys are configured, and a rate limit per key.
/// </summary>
public static class ApiKeys
{
    public const string Scheme = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    /// <summary>The owner of the caller's jobs and datasets: the key's name, or null when the service runs without keys.</summary>
    public static string? Owner(this HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : null;

    public static WebApplicationBuilder AddApiKeys(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var options = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section);
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(Scheme, null);
        services.AddAuthorization(authorization =>
        {
            if (options.Enabled) authorization.FallbackPolicy = new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().Build();
        });
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // Limits are per key: without keys no request has an owner to limit, and no limiter runs at all (the
            // middleware then passes requests straight through, instead of taking a no-op lease for each one).
            if (!options.Enabled) return;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (context.Owner() is not { } owner) return RateLimitPartition.GetNoLimiter("");
                var permits = context.User.FindFirst(PermitsClaim)?.Value is { } text && int.TryParse(text, out var p) ? p : options.PermitsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(owner, _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = Math.Max(1, permits),
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                });
            });
            limiter.OnRejected = async (context, cancellation) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 60;
                context.HttpContext.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteProblem(context.HttpContext, new ProblemException(429, "rate-limited", "Too many requests",
                    $"This API key has used its requests for this minute; retry after {retry} s.",
                    new Dictionary<string, object?> { ["retryAfterSeconds"] = retry }));
            };
        });
        return builder;
    }

    /// <summary>Says at startup whether tenants are on, so that a single-user deployment is a decision, not an accident.</summary>
    public static void LogTenancy(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (options.Enabled)
            app.Logger.LogInformation("API keys: {Count} tenants; each sees only its own jobs and datasets, at up to {Permits} requests a minute per key",
                options.ApiKeys.Count, options.PermitsPerMinute);
        else
            app.Logger.LogWarning("No API keys configured (Auth:ApiKeys): running for a single user, every client can see and cancel every job and dataset");
    }

    const string PermitsClaim = "autograd:permits-per-minute";

    internal static async Task WriteProblem(HttpContext context, ProblemException problem)
    {
        context.Response.StatusCode = problem.Status;
        var details = new ProblemDetails
        {
            Status = problem.Status, Type = Problems.TypeBase + problem.Code, Title = problem.Title, Detail = problem.Message,
        };
        details.Extensions["code"] = problem.Code;
        foreach (var (key, value) in problem.Extensions) details.Extensions[key] = value;
        var writer = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await writer.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = details });
    }

    /// <summary>Checks the presented key against the configured hashes in constant time.</summary>
    sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> schemes, ILoggerFactory logger, UrlEncoder encoder,
        IOptions<AuthOptions> auth) : AuthenticationHandler<AuthenticationSchemeOptions>(schemes, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var options = auth.Value;
            if (!options.Enabled) return Task.FromResult(AuthenticateResult.NoResult());
            var key = PresentedKey(Request);
            if (key is null) return Task.FromResult(AuthenticateResult.NoResult());
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
            foreach (var entry in options.ApiKeys)
            {
                if (!TryHex(entry.Sha256, out var expected) || !CryptographicOperations.FixedTimeEquals(hash, expected)) continue;
                var claims = new List<Claim> { new(ClaimTypes.Name, entry.Name) };
                if (entry.PermitsPerMinute > 0) claims.Add(new Claim(PermitsClaim, entry.PermitsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeys.Scheme));
                return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, ApiKeys.Scheme)));
            }
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.Headers.WWWAuthenticate = "Bearer";
            var presented = PresentedKey(Request) is not null;
            return WriteProblem(Context, new ProblemException(401, presented ? "invalid-api-key" : "api-key-required", "An API key is required",
                presented
                    ? "The API key given is not valid."
                    : $"This service asks for an API key: send it as 'Authorization: Bearer KEY' or '{HeaderName}: KEY'."));
        }

        static string? PresentedKey(HttpRequest request)
        {
            if (request.Headers[HeaderName].ToString() is { Length: > 0 } header) return header.Trim();
            var authorization = request.Headers.Authorization.ToString();
            return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
        }

        static bool TryHex(string text, out byte[] bytes)
        {
            bytes = [];
            if (text.Length != 64) return false;
            try
            {
                bytes = Convert.FromHexString(text);
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
        }
    }
}
