using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Autograd.Api.Infrastructure;

public static class Logging
{
    /// <summary>Where a handler leaves the id of the job a request created, for its log line.</summary>
    public const string JobIdItem = "autograd.jobId";

    /// <summary>Serilog from configuration; <c>Logging:Format = json</c> writes compact JSON (CLEF) instead of text.</summary>
    public static WebApplicationBuilder AddServiceLogging(this WebApplicationBuilder builder)
    {
        var json = string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase);
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext();
            if (json) logger.WriteTo.Console(new CompactJsonFormatter());
            // Text is for people: one short line; the properties are in the JSON format, for machines.
            else logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}");
        });
        return builder;
    }

    /// <summary>
    /// One line per request. A client that hangs up (an SSE reader leaving) is not an error. Health probes and
    /// metric scrapes come every few seconds and would drown the rest: they log at Debug unless they fail.
    /// </summary>
    public static WebApplication UseRequestLogging(this WebApplication app)
    {
        var metricsPath = Telemetry.MetricsPathOf(app.Configuration);
        app.UseSerilogRequestLogging(options =>
        {
            options.MessageTemplate = "HTTP {RequestMethod} {RequestPath} {StatusCode} in {Elapsed:0.0} ms{Job}";
            options.EnrichDiagnosticContext = (diagnostics, context) =>
            {
                var job = context.Items[JobIdItem] ?? context.GetRouteValue("id");
                diagnostics.Set("Job", job is null ? "" : $" (job {job})");
            };
            options.GetLevel = (context, _, exception) =>
                context.RequestAborted.IsCancellationRequested ? LogEventLevel.Information
                : exception is not null || context.Response.StatusCode >= 500 ? LogEventLevel.Error
                : Telemetry.IsQuiet(context.Request.Path, metricsPath) ? LogEventLevel.Debug
                : LogEventLevel.Information;
        });
        return app;
    }
}
