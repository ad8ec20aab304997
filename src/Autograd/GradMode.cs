namespace Autograd;

/// <summary>Whether tensor ops are recorded on this thread; torch's <c>with_no_grad()</c> is <see cref="NoGrad"/>.</summary>
public static class GradMode
{
    [ThreadStatic] static int _disabledDepth;

    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Until disposed, ops on this thread compute values without recording them or requiring grad.</summary>
    public static IDisposable NoGrad()
    {
        _disabledDepth++;
        return new Scope();
    }

    sealed class Scope : IDisposable
    {
        bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _disabledDepth--;
        }
    }
}
