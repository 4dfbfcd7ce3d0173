namespace RegService.Numerics;

/// <summary>
/// Thrown when a numerical algorithm cannot continue on its input, for example a Cholesky factorization
/// meeting a non-positive pivot because the matrix is not (numerically) positive definite.
/// </summary>
public sealed class NumericalBreakdownException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public NumericalBreakdownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the index of the failing pivot.</summary>
    public NumericalBreakdownException(string message, int pivotIndex, double pivotValue)
        : base(message)
    {
        PivotIndex = pivotIndex;
        PivotValue = pivotValue;
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public NumericalBreakdownException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The zero-based index of the pivot at which the algorithm broke down, or -1 when not applicable.</summary>
    public int PivotIndex { get; } = -1;

    /// <summary>The offending pivot value (not positive or not finite), or NaN when not applicable.</summary>
    public double PivotValue { get; } = double.NaN;
}
