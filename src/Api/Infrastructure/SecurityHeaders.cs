namespace Autograd.Api.Infrastructure;

/// <summary>
/// Headers on every response: no MIME sniffing, no framing, and on everything but Swagger UI (whose page needs
/// inline script) a strict Content-Security-Policy, so that the playground runs only its own scripts.
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            // Set as the response starts: the exception handler clears headers set before it runs.
            context.Response.OnStarting(static state =>
            {
                var context = (HttpContext)state;
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                if (!context.Request.Path.StartsWithSegments("/swagger"))
                    headers.ContentSecurityPolicy = ContentSecurityPolicy;
                return Task.CompletedTask;
            }, context);
            return next(context);
        });
        return app;
    }
}
