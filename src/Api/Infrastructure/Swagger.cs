using System.Reflection;
using System.Text.Json.Nodes;
using Autograd.Contracts;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Autograd.Api.Infrastructure;

public static class Swagger
{
    public static IServiceCollection AddServiceSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Autograd.Service",
                Version = "v1",
                Description = "Exact derivatives and gradient-descent runs behind HTTP: value, gradient and Hessian of a formula, "
                              + "computed by a tape-based reverse-mode autograd engine. Errors are RFC 9457 problem details.",
            });
            options.MapType<NumberOrVector>(() => new OpenApiSchema
            {
                Description = "A number, or an array of numbers.",
                OneOf =
                [
                    new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" },
                    new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" } },
                ],
            });
            foreach (var assembly in new[] { typeof(GradientRequest).Assembly, typeof(Swagger).Assembly })
            {
                var xml = Path.Combine(AppContext.BaseDirectory, $"{assembly.GetName().Name}.xml");
                if (File.Exists(xml)) options.IncludeXmlComments(xml);
            }
            options.OperationFilter<RequestExamples>();
        });
        return services;
    }

    /// <summary>Ready-to-run request bodies for "Try it out", by operation id.</summary>
    sealed class RequestExamples : IOperationFilter
    {
        static readonly Dictionary<string, (string Name, string Summary, string Json)[]> Examples = new()
        {
            ["ComputeGradient"] =
            [
                ("paraboloid", "The tutorial's paraboloid at (2, 2): value -3.4, gradient (0.8, 0.8)",
                    """{"expression": "0.2*x1^2 + 0.2*x2^2 - 5", "parameters": {"x1": 2, "x2": 2}}"""),
                ("rosenbrock", "The tutorial's Rosenbrock at (-1, 1) with a = 1, b = 5: value 4, gradient (-4, 0)",
                    """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}}"""),
                ("hessian-and-tape", "The Rosenbrock with its exact Hessian and the recorded tape",
                    """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}, "hessian": true, "explain": true}"""),
                ("least-squares", "Mean squared error of a line over inline data",
                    """{"expression": "mean((y - (b0 + b1*x))^2)", "parameters": {"b0": 0, "b1": 0}, "data": {"x": [0, 1, 2, 3], "y": [1, 2.1, 2.9, 4.2]}}"""),
            ],
        };

        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (operation.OperationId is null || !Examples.TryGetValue(operation.OperationId, out var examples)) return;
            if (operation.RequestBody?.Content?.TryGetValue("application/json", out var content) != true
                || content is not OpenApiMediaType media) return;
            media.Examples ??= new Dictionary<string, IOpenApiExample>();
            foreach (var (name, summary, json) in examples)
                media.Examples[name] = new OpenApiExample { Summary = summary, Value = JsonNode.Parse(json) };
        }
    }
}
