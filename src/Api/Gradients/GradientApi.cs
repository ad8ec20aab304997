using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using Serilog;

namespace Autograd.Api.Gradients;

public static class GradientApi
{
    public static IEndpointRouteBuilder MapGradientApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags("Gradient")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("/gradient", ComputeGradient)
            .WithName(nameof(ComputeGradient))
            .WithSummary("Value, gradient and optionally Hessian and tape of a formula at a point")
            .WithDescription("""
                Parses the formula once (later calls with the same formula and shapes replay the recorded tape),
                evaluates it at `parameters`, and returns the value and d(value)/d(parameter) in each parameter's shape.
                `hessian: true` adds the exact Hessian over the parameters flattened in request order;
                `explain: true` adds the recorded tape: each node's op, inputs, value and adjoint.
                Errors are RFC 9457 problem details; formula errors carry the 1-based `column`.
                """)
            .Accepts<GradientRequest>("application/json")
            .Produces<GradientResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapPost("/surface", ComputeSurface)
            .WithName(nameof(ComputeSurface))
            .WithSummary("The loss on a grid over two parameter elements, the others fixed")
            .WithDescription("""
                For contour plots: `z[j][i]` is the loss at (`x[i]`, `y[j]`), null where it is not finite. Each axis names a
                scalar parameter or a vector element (`x[1]`) and a range; `resolution` points per axis (at most
                Limits:MaxSurfaceResolution). The formula is recorded once and its tape replayed at every grid point.
                """)
            .Accepts<SurfaceRequest>("application/json")
            .Produces<SurfaceResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        return app;
    }

    public static Results<Ok<SurfaceResponse>, ProblemHttpResult> ComputeSurface(
        SurfaceRequest request, HttpContext context, SurfaceService surfaces, IDiagnosticContext diagnostics)
    {
        try
        {
            return TypedResults.Ok(surfaces.Compute(request, context.Owner()));
        }
        catch (ProblemException problem)
        {
            diagnostics.Set("Problem", problem.Code);
            return problem.ToResult();
        }
    }

    public static Results<Ok<GradientResponse>, ProblemHttpResult> ComputeGradient(
        GradientRequest request, HttpContext context, GradientService gradients, IDiagnosticContext diagnostics)
    {
        diagnostics.Set("ExpressionLength", request.Expression?.Length ?? 0);
        diagnostics.Set("Dtype", request.Dtype);
        try
        {
            return TypedResults.Ok(gradients.Compute(request, context.Owner()));
        }
        catch (ProblemException problem)
        {
            diagnostics.Set("Problem", problem.Code);
            return problem.ToResult();
        }
    }
}
