namespace Autograd;

/// <summary>Raised when operands do not fit an op: vectors of different lengths, an index out of range, a non-scalar output.</summary>
public class ShapeException(string message) : Exception(message);
