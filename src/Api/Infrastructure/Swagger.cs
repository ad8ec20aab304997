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
                Description = "A number, an array of numbers, or a matrix as an array of equal-length rows (row-major). "
                              + "A parameter may instead be an initialiser: {\"shape\": [4, 20], \"init\": \"normal\" | \"uniform\" | \"zeros\", \"scale\": 0.1, \"seed\": 1}.",
                OneOf =
                [
                    new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" },
                    new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" } },
                    new OpenApiSchema
                    {
                        Type = JsonSchemaType.Array,
                        Items = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" } },
                    },
                    new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Required = new HashSet<string> { "shape", "init" },
                        Properties = new Dictionary<string, IOpenApiSchema>
                        {
                            ["shape"] = new OpenApiSchema { Type = JsonSchemaType.Array, MaxItems = 2, Items = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1" } },
                            ["init"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("normal")!, JsonValue.Create("uniform")!, JsonValue.Create("zeros")!] },
                            ["scale"] = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double", Minimum = "0" },
                            ["seed"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
                        },
                        AdditionalPropertiesAllowed = false,
                    },
                ],
            });
            options.MapType<FeatureSelection>(() => new OpenApiSchema
            {
                Description = "\"*\" for every data column but the target, or the column names in order.",
                OneOf =
                [
                    new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("*")!] },
                    new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                ],
            });
            foreach (var assembly in new[] { typeof(GradientRequest).Assembly, typeof(Swagger).Assembly })
            {
                var xml = Path.Combine(AppContext.BaseDirectory, $"{assembly.GetName().Name}.xml");
                if (File.Exists(xml)) options.IncludeXmlComments(xml);
            }
            options.OperationFilter<RequestExamples>();
            options.DocumentFilter<ContractRules>();
            options.AddServer(new OpenApiServer { Url = "/", Description = "This service" });
            options.AddSecurityDefinition(ApiKeys.Scheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeys.HeaderName,
                Description = "Only when the service has API keys configured (Auth:ApiKeys): the key, also accepted as 'Authorization: Bearer KEY'.",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeys.Scheme, document)] = [],
            });
        });
        return services;
    }

    /// <summary>
    /// What the server enforces, said in the schemas: the fields it refuses to go without are <c>required</c>;
    /// absent-when-null fields are optional rather than "nullable" without a type; tags are described.
    /// </summary>
    public sealed class ContractRules : IDocumentFilter
    {
        /// <summary>Fields each request contract must have; the server answers 400 naming each when it is missing.</summary>
        public static readonly Dictionary<string, string[]> Required = new()
        {
            [nameof(GradientRequest)] = ["expression", "parameters"],
            [nameof(SurfaceRequest)] = ["expression", "parameters", "x", "y"],
            [nameof(SurfaceAxis)] = ["parameter"],
            [nameof(MinimizeRequest)] = ["parameters", "maxIterations"],
            [nameof(OptimizerRequest)] = ["type"],
            [nameof(DatasetUpload)] = ["columns"],
        };

        public void Apply(OpenApiDocument document, DocumentFilterContext context)
        {
            document.Tags = new HashSet<OpenApiTag>
            {
                new() { Name = "Gradient", Description = "Value, gradient, Hessian and tape of a formula at a point; the loss over a grid." },
                new() { Name = "Minimize", Description = "Minimisation jobs: start, follow as server-sent events, read the trace, cancel." },
                new() { Name = "Datasets", Description = "Datasets stored once (JSON columns or CSV) and fitted many times." },
            };
            foreach (var (name, schema) in document.Components?.Schemas ?? new Dictionary<string, IOpenApiSchema>())
            {
                if (schema is not OpenApiSchema editable) continue;
                if (Required.TryGetValue(name, out var required)) editable.Required = new HashSet<string>(required);
                foreach (var property in editable.Properties?.Values ?? [])
                    if (property is OpenApiSchema { OneOf: { Count: > 0 } oneOf })
                        foreach (var nullOnly in oneOf.Where(o => o is OpenApiSchema { Type: JsonSchemaType.Null }).ToList())
                            oneOf.Remove(nullOnly);
            }
        }
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
                ("let-slices-atan2", "A let statement, slices and atan2: successive differences of a vector, and an angle",
                    """{"expression": "d = x[2:end] - x[1:end-1]; sum(d^2) + atan2(x[1], x[3])", "parameters": {"x": [1, 2, 4]}, "hessian": true}"""),
                ("least-squares", "Mean squared error of a line over inline data",
                    """{"expression": "mean((y - (b0 + b1*x))^2)", "parameters": {"b0": 0, "b1": 0}, "data": {"x": [0, 1, 2, 3], "y": [1, 2.1, 2.9, 4.2]}}"""),
                ("two-layer-network", "A two-layer network: a 2x3 matrix parameter as nested arrays, its gradient in the same shape and a Hessian labelled W1[i,j]",
                    """{"expression": "mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)", "parameters": {"W1": [[0.5, -0.3, 0.8], [0.2, 0.9, -0.4]], "b1": [0.1, 0.1, 0.1], "w2": [1, -0.5, 0.7], "b2": 0}, "data": {"x1": [0.1, 0.8, -0.5, 1.2], "x2": [1.0, -0.3, 0.6, 0.2], "y": [0.5, 0.2, 0.1, 0.9]}, "hessian": true}"""),
                ("check-kinks", "Gradient check: each element against Richardson-extrapolated central differences; abs at 0 is reported as a kink",
                    """{"expression": "sum(w^2) + abs(b) + sin(w[1]*b)", "parameters": {"w": [0.5, -1.5], "b": 0}, "check": true}"""),
                ("certificate-saddle", "Curvature certificate: x^2 - y^2 at the origin is a saddle (eigenvalues -2 and 2)",
                    """{"expression": "x^2 - y^2", "parameters": {"x": 0, "y": 0}, "certificate": true}"""),
                ("certificate-rosenbrock", "Curvature certificate of Rosenbrock (b = 100) at its minimum (1, 1): eigenvalues 0.3994 and 1001.6",
                    """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [1, 1]}, "constants": {"a": 1, "b": 100}, "certificate": true}"""),
                ("symbolic", "The derivative as a formula, simplified with let statements and verified by evaluating it",
                    """{"expression": "sin(x*y) * exp(x*y) + log(x)", "parameters": {"x": 0.5, "y": 2}, "symbolic": true}"""),
            ],
            ["ComputeSurface"] =
            [
                ("rosenbrock-contour", "The loss of the tutorial's Rosenbrock over x[1] in [-2, 2] and x[2] in [-1, 3], 40 points a side",
                    """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}, "x": {"parameter": "x[1]", "min": -2, "max": 2}, "y": {"parameter": "x[2]", "min": -1, "max": 3}, "resolution": 40}"""),
            ],
            ["StartMinimize"] =
            [
                ("rosenbrock-sgd", "The tutorial's run: Rosenbrock (a = 1, b = 5) from (-1, 1), sgd with learning rate 0.01, 1000 iterations",
                    """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}, "optimizer": {"type": "sgd", "learningRate": 0.01}, "maxIterations": 1000}"""),
                ("rosenbrock-adam", "The same with adam",
                    """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}, "optimizer": {"type": "adam", "learningRate": 0.05}, "maxIterations": 2000, "gradientNormTolerance": 1e-8}"""),
                ("preflight-too-fast", "Learning-rate preflight: λmax = 10 at the start, so sgd at 0.21 > 2/λmax is warned about and diverges, and its message names the stable rate 0.2",
                    """{"expression": "5*x^2 + 0.5*y^2", "parameters": {"x": 1, "y": 1}, "optimizer": {"type": "sgd", "learningRate": 0.21}, "maxIterations": 10000, "gradientNormTolerance": 1e-8}"""),
                ("rosenbrock-lbfgs", "The same with lbfgs: converges in a few dozen iterations",
                    """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}, "optimizer": {"type": "lbfgs"}, "maxIterations": 200, "gradientNormTolerance": 1e-10}"""),
                ("race", "An optimizer race on the tutorial's Rosenbrock: sgd, adam and lbfgs from (-1, 1), interleaved in one stream, ranked by iterations to a loss of 1e-6",
                    """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}, "optimizers": [{"type": "sgd", "learningRate": 0.01}, {"type": "adam", "learningRate": 0.05, "label": "adam 0.05"}, {"type": "lbfgs"}], "raceTarget": 1e-6, "maxIterations": 1000}"""),
                ("lab-sgd", "The tutorial's lab, y = 1 + x + e, fitted by sgd with the model shorthand (or use \"dataset\": id from POST /datasets)",
                    """{"model": "b0 + b1*x", "target": "y", "loss": "mse", "parameters": {"b0": 0, "b1": 0}, "data": {"x": [0.269, 1.695, 1.528, 0.51, 0.991, 0.899, 1.303, 1.577, 0.188, 0.057, 1.672, 0.866, 1.525, 0.004, 0.891, 1.443, 0.458, 1.891, 1.803, 0.061], "y": [1.577, 2.745, 2.755, 1.419, 2.046, 2.155, 2.477, 2.609, 0.917, 1.168, 2.691, 2.046, 2.579, 1.276, 1.878, 2.493, 1.625, 2.619, 2.703, 0.936]}, "optimizer": {"type": "sgd", "learningRate": 0.1}, "maxIterations": 2000}"""),
                ("lab-adam", "The lab with adam",
                    """{"model": "b0 + b1*x", "target": "y", "parameters": {"b0": 0, "b1": 0}, "data": {"x": [0.269, 1.695, 1.528, 0.51, 0.991, 0.899, 1.303, 1.577, 0.188, 0.057, 1.672, 0.866, 1.525, 0.004, 0.891, 1.443, 0.458, 1.891, 1.803, 0.061], "y": [1.577, 2.745, 2.755, 1.419, 2.046, 2.155, 2.477, 2.609, 0.917, 1.168, 2.691, 2.046, 2.579, 1.276, 1.878, 2.493, 1.625, 2.619, 2.703, 0.936]}, "optimizer": {"type": "adam", "learningRate": 0.05}, "maxIterations": 3000, "gradientNormTolerance": 1e-9}"""),
                ("logistic-features", "Logistic regression over every column but the target: features \"*\" binds X = cbind(x1, x2, x3), w starts at zeros from an initialiser",
                    """{"model": "b0 + X %*% w", "target": "y", "loss": "bce", "features": "*", "parameters": {"b0": 0, "w": {"shape": [3], "init": "zeros"}}, "data": {"x1": [0.5, -1.2, 0.3, 1.8, -0.7, 0.9, -1.5, 0.2], "x2": [1.1, 0.4, -0.9, 0.3, 1.6, -1.3, 0.8, -0.2], "x3": [-0.3, 0.7, 1.2, -1.1, 0.2, 0.5, -0.8, 1.4], "y": [1, 0, 0, 1, 0, 1, 0, 1]}, "optimizer": {"type": "lbfgs"}, "maxIterations": 100, "gradientNormTolerance": 1e-10}"""),
                ("lab-lbfgs", "The lab with lbfgs",
                    """{"model": "b0 + b1*x", "target": "y", "parameters": {"b0": 0, "b1": 0}, "data": {"x": [0.269, 1.695, 1.528, 0.51, 0.991, 0.899, 1.303, 1.577, 0.188, 0.057, 1.672, 0.866, 1.525, 0.004, 0.891, 1.443, 0.458, 1.891, 1.803, 0.061], "y": [1.577, 2.745, 2.755, 1.419, 2.046, 2.155, 2.477, 2.609, 0.917, 1.168, 2.691, 2.046, 2.579, 1.276, 1.878, 2.493, 1.625, 2.619, 2.703, 0.936]}, "optimizer": {"type": "lbfgs"}, "maxIterations": 100, "gradientNormTolerance": 1e-10}"""),
                ("lab-levenberg-marquardt", "The lab by Levenberg-Marquardt: the fit report carries R's coefficient table (also at GET /minimize/{id}/fit?format=csv)",
                    """{"model": "b0 + b1*x", "target": "y", "parameters": {"b0": 0, "b1": 0}, "data": {"x": [0.269, 1.695, 1.528, 0.51, 0.991, 0.899, 1.303, 1.577, 0.188, 0.057, 1.672, 0.866, 1.525, 0.004, 0.891, 1.443, 0.458, 1.891, 1.803, 0.061], "y": [1.577, 2.745, 2.755, 1.419, 2.046, 2.155, 2.477, 2.609, 0.917, 1.168, 2.691, 2.046, 2.579, 1.276, 1.878, 2.493, 1.625, 2.619, 2.703, 0.936]}, "optimizer": {"type": "levenberg-marquardt"}, "maxIterations": 50, "gradientNormTolerance": 1e-10}"""),
                ("lab-bounded", "The lab with the intercept bounded to [0, 0.5]: lbfgs becomes projected L-BFGS and ends on the bound; the start b0 = -1 is projected",
                    """{"model": "b0 + b1*x", "target": "y", "parameters": {"b0": -1, "b1": 0}, "bounds": {"b0": {"min": 0, "max": 0.5}}, "data": {"x": [0.269, 1.695, 1.528, 0.51, 0.991, 0.899, 1.303, 1.577, 0.188, 0.057, 1.672, 0.866, 1.525, 0.004, 0.891, 1.443, 0.458, 1.891, 1.803, 0.061], "y": [1.577, 2.745, 2.755, 1.419, 2.046, 2.155, 2.477, 2.609, 0.917, 1.168, 2.691, 2.046, 2.579, 1.276, 1.878, 2.493, 1.625, 2.619, 2.703, 0.936]}, "optimizer": {"type": "lbfgs"}, "maxIterations": 100, "gradientNormTolerance": 1e-10}"""),
                ("puromycin-residuals", "Michaelis-Menten on R's Puromycin (treated) by explicit residuals and Levenberg-Marquardt, K kept positive",
                    """{"residuals": "rate - Vm*conc/(K + conc)", "parameters": {"Vm": 200, "K": 0.1}, "bounds": {"K": {"min": 0}}, "data": {"conc": [0.02, 0.02, 0.06, 0.06, 0.11, 0.11, 0.22, 0.22, 0.56, 0.56, 1.1, 1.1], "rate": [76, 47, 97, 107, 123, 139, 159, 152, 191, 201, 207, 200]}, "optimizer": {"type": "levenberg-marquardt"}, "maxIterations": 100, "gradientNormTolerance": 1e-4}"""),
                ("box-adam", "A vector parameter in a box (per-element min and max): adam takes projected steps",
                    """{"expression": "sum((x - c)^2)", "parameters": {"x": [0, 0]}, "constants": {"c": [3, -2]}, "bounds": {"x": {"min": [-1, -1], "max": [2, 2]}}, "optimizer": {"type": "adam", "learningRate": 0.1}, "maxIterations": 2000, "gradientNormTolerance": 1e-8}"""),
            ],
            ["CreateDataset"] =
            [
                ("lab", "The tutorial's lab data (20 rows of y = 1 + x + e) as JSON columns",
                    """{"columns": {"x": [0.269, 1.695, 1.528, 0.51, 0.991, 0.899, 1.303, 1.577, 0.188, 0.057, 1.672, 0.866, 1.525, 0.004, 0.891, 1.443, 0.458, 1.891, 1.803, 0.061], "y": [1.577, 2.745, 2.755, 1.419, 2.046, 2.155, 2.477, 2.609, 0.917, 1.168, 2.691, 2.046, 2.579, 1.276, 1.878, 2.493, 1.625, 2.619, 2.703, 0.936]}}"""),
            ],
        };

        const string LabCsv = "x,y\n0.269,1.577\n1.695,2.745\n1.528,2.755\n0.51,1.419\n0.991,2.046\n0.899,2.155\n1.303,2.477\n1.577,2.609\n0.188,0.917\n0.057,1.168\n1.672,2.691\n0.866,2.046\n1.525,2.579\n0.004,1.276\n0.891,1.878\n1.443,2.493\n0.458,1.625\n1.891,2.619\n1.803,2.703\n0.061,0.936\n";

        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (operation.OperationId is null || !Examples.TryGetValue(operation.OperationId, out var examples)) return;
            if (operation.OperationId == "CreateDataset"
                && operation.RequestBody?.Content?.TryGetValue("text/csv", out var csv) == true && csv is OpenApiMediaType csvMedia)
            {
                csvMedia.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A header row of names, then one row of numbers per line (RFC 4180)." };
                csvMedia.Examples ??= new Dictionary<string, IOpenApiExample>();
                csvMedia.Examples["lab"] = new OpenApiExample { Summary = "The lab data as CSV", Value = JsonValue.Create(LabCsv) };
            }
            if (operation.RequestBody?.Content?.TryGetValue("application/json", out var content) != true
                || content is not OpenApiMediaType media) return;
            media.Examples ??= new Dictionary<string, IOpenApiExample>();
            foreach (var (name, summary, json) in examples)
                media.Examples[name] = new OpenApiExample { Summary = summary, Value = JsonNode.Parse(json) };
        }
    }
}
