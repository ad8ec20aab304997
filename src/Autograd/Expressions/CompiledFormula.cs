using System.Runtime.CompilerServices;
using System.Numerics;

namespace Autograd.Expressions;

/// <summary>
/// A formula recorded once onto a tape over named inputs. Set input values, then replay: evaluating
/// at a new point never parses or allocates again. Not thread-safe: one evaluation at a time.
/// </summary>
public sealed class CompiledFormula<T> : IRetainedBytes where T : IFloatingPointIeee754<T>
{
    readonly int[] _inputNodes;
    readonly int[] _parameterSlots;

    CompiledFormula(Formula formula, IReadOnlyList<InputSpec> inputs, Tape<T> tape, int[] inputNodes, int output)
    {
        Formula = formula;
        Inputs = inputs;
        Tape = tape;
        _inputNodes = inputNodes;
        Output = output;
        _outputValue = tape[output].Value;
        var parameters = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Kind == InputKind.Parameter) parameters++;
            InputElements += inputs[i].Length;
        }
        _parameterSlots = new int[parameters];
        for (int i = 0, j = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Kind != InputKind.Parameter) continue;
            _parameterSlots[j++] = i;
            ParameterCount += inputs[i].Length;
        }
    }

    public Formula Formula { get; }
    public IReadOnlyList<InputSpec> Inputs { get; }
    public Tape<T> Tape { get; }
    public int Output { get; }
    /// <summary>The number of parameter elements: the size of the gradient and the side of the Hessian.</summary>
    public int ParameterCount { get; }
    public T Value => _outputValue[0];
    // Read directly rather than through the tape; BindInput refreshes it for a formula that is just one of its inputs.
    T[] _outputValue;

    /// <summary>Binds and records <paramref name="formula"/> with the given inputs, which get input nodes in their order.</summary>
    /// <exception cref="FormulaException">A name, a function, an arity or a shape does not fit.</exception>
    public static CompiledFormula<T> Compile(Formula formula, IReadOnlyList<InputSpec> inputs, long maxTapeElements = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(formula);
        ArgumentNullException.ThrowIfNull(inputs);
        var recorder = new Recorder<T>(inputs, maxTapeElements);
        var output = recorder.Record(formula);
        return new CompiledFormula<T>(formula, inputs, recorder.Tape, recorder.InputNodes, output);
    }

    public int SlotOf(string name)
    {
        for (var i = 0; i < Inputs.Count; i++) if (Inputs[i].Name == name) return i;
        throw new KeyNotFoundException($"'{name}' is not an input of this formula.");
    }

    public void SetInput(int slot, ReadOnlySpan<T> values)
    {
        var target = Tape[_inputNodes[slot]].Value;
        if (values.Length != target.Length)
            throw new ShapeException($"'{Inputs[slot].Name}' was compiled with {target.Length} element(s), not {values.Length}.");
        values.CopyTo(target);
    }

    /// <summary>
    /// Makes the input read <paramref name="values"/> itself instead of a copy, so that a large data column
    /// is not duplicated; the caller must not change the array while the formula is in use.
    /// </summary>
    public void BindInput(int slot, T[] values)
    {
        var node = Tape[_inputNodes[slot]];
        if (node.RequiresGrad) throw new InvalidOperationException($"'{Inputs[slot].Name}' is a parameter; set it with SetInput.");
        if (values.Length != node.Value.Length)
            throw new ShapeException($"'{Inputs[slot].Name}' was compiled with {node.Value.Length} element(s), not {values.Length}.");
        node.Value = values;
        _outputValue = Tape[Output].Value;
        Tape.Invalidate();
        HasBoundInputs = true;
    }

    /// <summary>The key under which a <see cref="FormulaCache"/> pools this formula, once it has computed it.</summary>
    internal PoolKey? CacheKey { get; set; }

    /// <summary>True once <see cref="BindInput"/> was used: such a formula reads arrays it does not own and is never pooled.</summary>
    public bool HasBoundInputs { get; private set; }

    /// <summary>Elements of all inputs together: a measure of the memory a pooled copy holds.</summary>
    public long InputElements { get; }

    /// <summary>Memory the recorded tape holds in values and adjoints, for the service's accounting of pooled copies.</summary>
    public long RetainedBytes => _retainedBytes ??= CountRetainedBytes();

    long? _retainedBytes;

    long CountRetainedBytes()
    {
        var elements = 0L;
        for (var id = 0; id < Tape.Count; id++) elements += Tape[id].Value.Length + Tape[id].Adjoint.Length;
        return elements * Unsafe.SizeOf<T>();
    }

    /// <summary>The tape node id of an input slot.</summary>
    public int InputNode(int slot) => _inputNodes[slot];

    public ReadOnlySpan<T> InputValues(int slot) => Tape[_inputNodes[slot]].Value;

    /// <summary>Replays the forward sweep and returns the value.</summary>
    public T Evaluate()
    {
        Tape.Forward();
        return Value;
    }

    /// <summary>Replays the forward and backward sweeps; read the gradient with <see cref="GradientOf"/>.</summary>
    public T EvaluateWithGradient()
    {
        Tape.Forward();
        Tape.Backward(Output);
        return Value;
    }

    /// <summary>
    /// Like <see cref="EvaluateWithGradient"/>, with long elementwise chains fused; afterwards only the value and
    /// the inputs' gradients are current, not the tape's intermediate nodes. For optimisation loops.
    /// </summary>
    public T EvaluateWithGradientFused()
    {
        if (Tape.CompiledReplay(Output) is { } replay) return replay();
        Tape.ForwardBackwardFused(Output);
        return Value;
    }

    /// <summary>
    /// How far the fused replay has come (rows replayed), which decides when it switches to its compiled loop, and the
    /// two loops round differently: a run resumed on a fresh copy sets it to continue bit for bit.
    /// </summary>
    public long ReplayHistory
    {
        get => Tape.ReplayHistory;
        set => Tape.ReplayHistory = value;
    }

    /// <summary>
    /// What <see cref="EvaluateWithGradientFused"/> runs on a tape of scalars before it is compiled, kept from
    /// compiling (benchmarks); NaN when the tape is not one of scalars.
    /// </summary>
    internal T EvaluateWithGradientInterpreted() => Tape.RunScalarInterpreter(Output) ? Value : T.NaN;

    /// <summary>Compiles the replay of a tape of scalars now (tests and benchmarks); false when the tape does not allow one.</summary>
    internal bool CompileScalarReplay() => Tape.CompileScalarReplay(Output);

    /// <summary>Compiles the fused replay's loop over rows now (tests and benchmarks); false when the tape does not allow one.</summary>
    internal bool CompileRowSweep() => Tape.CompileRowSweep(Output);

    /// <summary>d(value)/d(input) after <see cref="EvaluateWithGradient"/>; empty for inputs that are not parameters.</summary>
    public ReadOnlySpan<T> GradientOf(int slot) => Tape[_inputNodes[slot]].Adjoint;

    /// <summary>
    /// The exact Hessian over the parameters flattened in input order, row-major into <paramref name="matrix"/>
    /// (ParameterCount² elements): one forward-over-reverse Hessian-vector product per column.
    /// Also leaves the value and gradient as <see cref="EvaluateWithGradient"/> does.
    /// </summary>
    public void Hessian(Span<T> matrix)
    {
        var n = ParameterCount;
        if (matrix.Length != n * n) throw new ArgumentException($"The Hessian needs {n * n} elements.", nameof(matrix));
        Tape.Forward();
        if (n == 0) Tape.Backward(Output);
        for (var column = 0; column < n; column++)
        {
            SetUnitDirection(column);
            Tape.HessianVectorProduct(Output);
            var row = 0;
            foreach (var slot in _parameterSlots)
            {
                var part = Tape.HessianVectorProductOf(_inputNodes[slot]);
                for (var i = 0; i < part.Length; i++) matrix[(row + i) * n + column] = part[i];
                row += part.Length;
            }
        }
    }

    void SetUnitDirection(int flatIndex)
    {
        var offset = 0;
        foreach (var slot in _parameterSlots)
        {
            var direction = Tape.Direction(_inputNodes[slot]);
            direction.Clear();
            if (flatIndex >= offset && flatIndex < offset + direction.Length) direction[flatIndex - offset] = T.One;
            offset += direction.Length;
        }
    }
}
