using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Autograd.Playground.Tests;

/// <summary>
/// Sends the playground's strict Content-Security-Policy on the page, unless the service already sends one,
/// so that every browser test proves the page works under it (no inline script, style or handler).
/// </summary>
public sealed class ContentSecurityPolicyFilter : IStartupFilter
{
    public const string Policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            if (context.Request.Path == "/" || context.Request.Path == "/index.html")
            {
                var headers = context.Response.Headers;
                // Set when the response starts, so that a header the service sends itself is kept and tested instead.
                context.Response.OnStarting(() =>
                {
                    if (!headers.ContainsKey("Content-Security-Policy")) headers.ContentSecurityPolicy = Policy;
                    return Task.CompletedTask;
                });
            }
            return nextMiddleware(context);
        });
        next(app);
    };
}
