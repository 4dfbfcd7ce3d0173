namespace RegService.Numerics.Training;

/// <summary>
/// How a thread of a fit waits for a partner it expects within microseconds (<see cref="SpinBarrier"/> between mini-batches,
/// <see cref="Solvers.FitTeam"/> between passes): a pause instruction for about 100 microseconds, then its core yielded for a
/// while (so a loaded machine still makes progress), and only then blocked. <see cref="SpinWait.SpinOnce()"/>'s backoff was
/// measured to add about 5 microseconds per crossing on the 2-core virtual machine; a plain pause loop adds well under 1.
/// </summary>
internal static class Spinning
{
    /// <summary>Pause iterations (about 50 ns each) before a waiter starts yielding.</summary>
    public const int Spins = 2000;

    /// <summary>Iterations (pauses, then yields) before a waiter blocks.</summary>
    public const int SpinsBeforeBlocking = Spins + 1000;

    /// <summary>Wait iteration <paramref name="spins"/> (from 0): a pause or a yield; false once the waiter should block instead.</summary>
    public static bool Wait(int spins)
    {
        if (spins < Spins) Thread.SpinWait(1);
        else if (spins < SpinsBeforeBlocking) Thread.Yield();
        else return false;
        return true;
    }
}
