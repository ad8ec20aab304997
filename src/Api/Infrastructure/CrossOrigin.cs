namespace Autograd.Api.Infrastructure;

/// <summary>
/// Browser calls from other origins, off by default: <c>Cors:AllowedOrigins</c> lists the origins (e.g.
/// <c>https://notebook.example.org</c>) whose pages may call the API, read <c>Location</c> and <c>Retry-After</c>,
/// and send the API key and <c>Last-Event-ID</c>.
/// </summary>
public static class CrossOrigin
{
    const string Policy = "configured-origins";

    public static WebApplicationBuilder AddCrossOrigin(this WebApplicationBuilder builder)
    {
        var origins = builder.Configuration.GetSection("Cors:AllowedOrigins").Get<string[]>() ?? [];
        builder.Services.AddCors(options => options.AddPolicy(Policy, policy =>
        {
            if (origins.Length == 0) return;
            policy.WithOrigins(origins)
                .WithMethods("GET", "POST", "DELETE")
                .WithHeaders("Content-Type", "Authorization", ApiKeys.HeaderName, "Last-Event-ID", "Prefer")
                .WithExposedHeaders("Location", "Retry-After", "Preference-Applied")
                .SetPreflightMaxAge(TimeSpan.FromHours(1));
        }));
        return builder;
    }

    public static WebApplication UseCrossOrigin(this WebApplication app)
    {
        app.UseCors(Policy);
        return app;
    }
}
