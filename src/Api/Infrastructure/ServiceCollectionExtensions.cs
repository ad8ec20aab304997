using Autograd.Api.Datasets;
using Autograd.Api.Gradients;
using Autograd.Api.Minimize;
using Autograd.Api.Redis;
using Autograd.Expressions;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Infrastructure;

public static class ServiceCollectionExtensions
{
    public static WebApplicationBuilder AddAutogradServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ServiceLimits>().BindConfiguration(ServiceLimits.Section);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
            kestrel.Limits.MaxRequestBodySize = context.Configuration.GetSection(ServiceLimits.Section)
                .GetValue(nameof(ServiceLimits.MaxRequestBodyBytes), new ServiceLimits().MaxRequestBodyBytes));

        services.ConfigureHttpJsonOptions(options => JsonProblems.MakeStrict(options.SerializerOptions));
        services.AddProblemDetails(options => options.CustomizeProblemDetails = Problems.AddStableType);
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddHealthChecks();

        services.AddOptions<MemoryOptions>().BindConfiguration(MemoryOptions.Section);
        services.AddSingleton<MemoryBudget>();
        // Stop within Docker's 10 s grace: streams end within EventStreamResult.ShutdownGrace, jobs stop at their next iteration.
        services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(8));
        services.AddSingleton(sp => new FormulaCache(sp.GetRequiredService<IOptions<ServiceLimits>>().Value.FormulaCacheSize, sp.GetRequiredService<MemoryBudget>()));
        services.AddSingleton<GradientService>();
        services.AddSingleton<SurfaceService>();

        services.AddOptions<DatasetOptions>().BindConfiguration(DatasetOptions.Section);
        services.AddSingleton<DatasetApi.UploadSlots>();

        services.AddOptions<MinimizeOptions>().BindConfiguration(MinimizeOptions.Section);
        services.AddSingleton(TimeProvider.System);
        services.AddStores();
        services.AddSingleton<MinimizeTranslator>();
        services.AddSingleton<JobLifecycle>();
        services.AddSingleton<JobRunner>();
        services.AddSingleton<MinimizeJobs>();
        services.AddSingleton<Export.ExportRecipes>();
        services.AddOptions<ServiceOptions>().BindConfiguration(ServiceOptions.Section);
        services.AddHostedService<JobWorkers>();
        services.AddSingleton<StreamMetrics>();
        services.AddHostedService<JobRetention>();
        return builder;
    }
}
