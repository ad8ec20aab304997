namespace Autograd.Expressions;

/// <summary>
/// Binding strength, weakest first. Unary minus sits between * and ^, so -x^2 is -(x^2) and -x*y is
/// (-x)*y, as in R and in mathematics; ^ is right-associative (2^3^2 = 2^9). Function calls and
/// indexing bind tightest: log(x)^3 is (log x)^3. R's %*% sits between * and unary minus, as in R:
/// a * A %*% B is a * (A %*% B) and -A %*% B is (-A) %*% B.
/// </summary>
public enum Precedence { None = 0, Sum = 1, Product = 2, Special = 3, Prefix = 4, Exponent = 5 }
