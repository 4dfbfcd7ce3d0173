using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using RegService.Numerics.Kernels;

namespace RegService.Benchmarks;

/// <summary>
/// The bounds a kernel's time is compared with, measured on the machine the runner runs on (not constants from
/// another machine): the FMA peak of all cores from a timed loop of independent multiply-add chains on the tier the
/// kernels run (<see cref="KernelIsa.Current"/>), and the read bandwidth of all cores summing arrays far larger than the
/// caches. Each is the best of several trials, so load from other processes lowers it less than it lowers one run.
/// </summary>
internal sealed record MachineBounds(string Isa, double FmaPeakGflops, double ReadBytesPerSecond)
{
    public static MachineBounds Measure()
    {
        var path = KernelIsa.Current;
        return new MachineBounds(KernelIsa.Name(path), Best(5, () => FmaGflops(path)), Best(5, ReadBandwidth));
    }

    /// <summary>The CPU's model name from /proc/cpuinfo, or the architecture where there is none.</summary>
    public static string CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>Adds the bounds to the report (isa, fma_peak_gflops, read_gb_per_s).</summary>
    public void Report(IDictionary<string, object?> report)
    {
        report["isa"] = Isa;
        report["fma_peak_gflops"] = Math.Round(FmaPeakGflops, 1);
        report["read_gb_per_s"] = Math.Round(ReadBytesPerSecond / 1e9, 1);
    }

    private static double Best(int trials, Func<double> measure)
    {
        double best = 0;
        for (int t = 0; t < trials; t++) best = Math.Max(best, measure());
        return best;
    }

    /// <summary>GFLOP/s of every core running 12 independent FMA chains (enough to cover the latency of two FMA ports).</summary>
    private static double FmaGflops(KernelPath path)
    {
        const long Iterations = 20_000_000;
        int threads = Environment.ProcessorCount;
        int lanes = KernelIsa.Lanes(path);
        var watch = Stopwatch.StartNew();
        double sink = 0;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            double s = path switch
            {
                KernelPath.Vector512 => Chains512(Iterations),
                KernelPath.Vector256 => Chains256(Iterations),
                KernelPath.Vector128 => Chains128(Iterations),
                _ => ChainsScalar(Iterations),
            };
            lock (watch) sink += s;
        });
        double seconds = watch.Elapsed.TotalSeconds;
        if (double.IsNaN(sink)) Console.Error.WriteLine("the FMA probe produced NaN");
        return threads * Iterations * 12.0 * lanes * 2 / seconds / 1e9;
    }

    // acc = acc * c + d converges to d / (1 - c); twelve chains in flight.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Chains512(long iterations)
    {
        var c = Vector512.Create(0.999999);
        var d = Vector512.Create(1e-6);
        Vector512<double> a0 = Vector512<double>.One, a1 = a0 + d, a2 = a1 + d, a3 = a2 + d, a4 = a3 + d, a5 = a4 + d;
        Vector512<double> a6 = a5 + d, a7 = a6 + d, a8 = a7 + d, a9 = a8 + d, a10 = a9 + d, a11 = a10 + d;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, c, d); a1 = Vector512.FusedMultiplyAdd(a1, c, d); a2 = Vector512.FusedMultiplyAdd(a2, c, d);
            a3 = Vector512.FusedMultiplyAdd(a3, c, d); a4 = Vector512.FusedMultiplyAdd(a4, c, d); a5 = Vector512.FusedMultiplyAdd(a5, c, d);
            a6 = Vector512.FusedMultiplyAdd(a6, c, d); a7 = Vector512.FusedMultiplyAdd(a7, c, d); a8 = Vector512.FusedMultiplyAdd(a8, c, d);
            a9 = Vector512.FusedMultiplyAdd(a9, c, d); a10 = Vector512.FusedMultiplyAdd(a10, c, d); a11 = Vector512.FusedMultiplyAdd(a11, c, d);
        }
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Chains256(long iterations)
    {
        var c = Vector256.Create(0.999999);
        var d = Vector256.Create(1e-6);
        Vector256<double> a0 = Vector256<double>.One, a1 = a0 + d, a2 = a1 + d, a3 = a2 + d, a4 = a3 + d, a5 = a4 + d;
        Vector256<double> a6 = a5 + d, a7 = a6 + d, a8 = a7 + d, a9 = a8 + d, a10 = a9 + d, a11 = a10 + d;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, c, d); a1 = Vector256.FusedMultiplyAdd(a1, c, d); a2 = Vector256.FusedMultiplyAdd(a2, c, d);
            a3 = Vector256.FusedMultiplyAdd(a3, c, d); a4 = Vector256.FusedMultiplyAdd(a4, c, d); a5 = Vector256.FusedMultiplyAdd(a5, c, d);
            a6 = Vector256.FusedMultiplyAdd(a6, c, d); a7 = Vector256.FusedMultiplyAdd(a7, c, d); a8 = Vector256.FusedMultiplyAdd(a8, c, d);
            a9 = Vector256.FusedMultiplyAdd(a9, c, d); a10 = Vector256.FusedMultiplyAdd(a10, c, d); a11 = Vector256.FusedMultiplyAdd(a11, c, d);
        }
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Chains128(long iterations)
    {
        var c = Vector128.Create(0.999999);
        var d = Vector128.Create(1e-6);
        Vector128<double> a0 = Vector128<double>.One, a1 = a0 + d, a2 = a1 + d, a3 = a2 + d, a4 = a3 + d, a5 = a4 + d;
        Vector128<double> a6 = a5 + d, a7 = a6 + d, a8 = a7 + d, a9 = a8 + d, a10 = a9 + d, a11 = a10 + d;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector128.MultiplyAddEstimate(a0, c, d); a1 = Vector128.MultiplyAddEstimate(a1, c, d); a2 = Vector128.MultiplyAddEstimate(a2, c, d);
            a3 = Vector128.MultiplyAddEstimate(a3, c, d); a4 = Vector128.MultiplyAddEstimate(a4, c, d); a5 = Vector128.MultiplyAddEstimate(a5, c, d);
            a6 = Vector128.MultiplyAddEstimate(a6, c, d); a7 = Vector128.MultiplyAddEstimate(a7, c, d); a8 = Vector128.MultiplyAddEstimate(a8, c, d);
            a9 = Vector128.MultiplyAddEstimate(a9, c, d); a10 = Vector128.MultiplyAddEstimate(a10, c, d); a11 = Vector128.MultiplyAddEstimate(a11, c, d);
        }
        return Vector128.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double ChainsScalar(long iterations)
    {
        const double c = 0.999999, d = 1e-6;
        double a0 = 1, a1 = a0 + d, a2 = a1 + d, a3 = a2 + d, a4 = a3 + d, a5 = a4 + d;
        double a6 = a5 + d, a7 = a6 + d, a8 = a7 + d, a9 = a8 + d, a10 = a9 + d, a11 = a10 + d;
        for (long i = 0; i < iterations; i++)
        {
            a0 = a0 * c + d; a1 = a1 * c + d; a2 = a2 * c + d; a3 = a3 * c + d; a4 = a4 * c + d; a5 = a5 * c + d;
            a6 = a6 * c + d; a7 = a7 * c + d; a8 = a8 * c + d; a9 = a9 * c + d; a10 = a10 * c + d; a11 = a11 * c + d;
        }
        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    }

    private static double[][]? s_readArrays;

    /// <summary>Bytes per second of every core summing its own 128 MB array (TensorPrimitives.Sum: vectorized loads only).</summary>
    private static double ReadBandwidth()
    {
        int threads = Environment.ProcessorCount;
        const int Length = 16 << 20;   // 128 MB per core
        s_readArrays ??= [.. Enumerable.Range(0, threads).Select(_ => Enumerable.Repeat(1.0, Length).ToArray())];
        var arrays = s_readArrays;
        var watch = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => TensorPrimitives.Sum<double>(arrays[t]));
        return (double)threads * Length * sizeof(double) / watch.Elapsed.TotalSeconds;
    }
}
