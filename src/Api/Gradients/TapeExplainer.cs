using System.Numerics;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;

namespace Autograd.Api.Gradients;

/// <summary>The recorded tape as the client sees it: the tutorial's x1..x7 figure, for any formula.</summary>
public static class TapeExplainer
{
    public static TapeNodeInfo[] Describe<T>(CompiledFormula<T> compiled) where T : IFloatingPointIeee754<T>
    {
        var tape = compiled.Tape;
        var text = compiled.Formula.Text;
        var nodes = new TapeNodeInfo[compiled.Output + 1];
        for (var id = 0; id <= compiled.Output; id++)
        {
            var node = tape[id];
            var boundInput = id < compiled.Inputs.Count ? compiled.Inputs[id] : null;
            nodes[id] = new TapeNodeInfo
            {
                Id = id,
                Op = OpNames.Of(node.Op),
                Inputs = node.Op == Op.Input ? [] : node.Y >= 0 ? [node.X, node.Y] : [node.X],
                Name = node.Name,
                Kind = node.Op != Op.Input ? null : boundInput?.Kind.ToString().ToLowerInvariant() ?? "literal",
                Argument = node.Op switch
                {
                    Op.PowConstant when T.IsFinite(node.Constant) => double.CreateChecked(node.Constant),
                    Op.Index => node.Index + 1,
                    _ => null,
                },
                Span = node.Span.Column > 0 ? new SourceSpanInfo(node.Span.Column, node.Span.Length, Problems.Excerpt(text, node.Span)) : null,
                RequiresGrad = node.RequiresGrad,
                Value = GradientService.ToContract<T>(node.Value, node.IsScalar, node.Columns),
                Adjoint = node.RequiresGrad ? GradientService.ToContract<T>(node.Adjoint, node.IsScalar, node.Columns) : null,
            };
        }
        return nodes;
    }
}
