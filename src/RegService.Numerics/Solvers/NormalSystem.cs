using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RegService.Numerics.Solvers;

/// <summary>
/// The ridge normal equations on the standardized scale, <c>(A + lambda I) beta = c</c> with
/// <c>A = Z'Z/n</c> and <c>c = Z'y/n</c>, built from a shifted Gram matrix of [features, target].
/// Features with zero variance on the rows (with or without an intercept, <see cref="Standardization"/>) are left out: their coefficient is 0.
/// </summary>
public sealed class NormalSystem
{
    private readonly int[] _active;      // indices (into the features) that enter the system
    private readonly double[] _a;        // active x active, row-major
    private readonly double[] _c;
    private readonly double _yMean;

    private NormalSystem(int[] active, double[] a, double[] c, double[] means, double[] scales, double yMean, List<string> warnings)
    {
        _active = active;
        _a = a;
        _c = c;
        FeatureMeans = means;
        Scales = scales;
        _yMean = yMean;
        Warnings = warnings;
    }

    public double[] FeatureMeans { get; }
    public double[] Scales { get; }
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Features (indices into the feature list) that enter the system; the others have zero variance.</summary>
    public int[] Active => _active;

    /// <summary>A = Z'Z/n over the active features, row-major (its first q x q values).</summary>
    public double[] A => _a;

    /// <summary>c = Z'y/n over the active features.</summary>
    public double[] C => _c;
    public double TargetMean => _yMean;

    /// <summary>(1/n) sum (y - mean)^2, or (1/n) sum y^2 without an intercept: the null deviance per row.</summary>
    public double TargetVariance { get; private init; }

    /// <summary>Diagonal of A before standardization: 1 for standardized features, else the variance.</summary>
    public double Diagonal(int u) => _a[(long)u * _c.Length + u];

    /// <summary>
    /// From <c>G = (X - s)'(X - s)</c> and <c>S = sum(X - s)</c> over <paramref name="n"/> rows:
    /// mean = s + S/n and, with an intercept, the centered cross-products <c>C = G - S S'/n</c> (exact algebra; the
    /// shift keeps the subtraction from cancelling). Without an intercept the shift must be zero and C = G, the
    /// uncentered cross-products; the features are still scaled by their standard deviation about the mean, as
    /// glmnet does (<see cref="Standardization"/>). The token is checked once per row of the k x k matrices built.
    /// </summary>
    /// <remarks>
    /// A is written into <paramref name="into"/> when it holds q x q values (a pooled buffer the caller owns while it uses the
    /// system), and its rows are built by up to <paramref name="threads"/> threads when it is large; the values do not depend on either.
    /// </remarks>
    public static NormalSystem From(double[] gram, double[] sums, double[] shift, int n, string[] featureNames, bool standardize, bool fitIntercept,
        CancellationToken ct = default, double[]? into = null, int threads = 1) =>
        Build(gram, null, sums, null, 1.0, shift, n, featureNames, standardize, fitIntercept, ct, into, threads);

    /// <summary>
    /// <see cref="From"/> for the rows outside a validation fold, from the all-rows Gram and sums and the fold's:
    /// <c>G = (G_all − G_fold) · factor</c> and <c>S = (S_all − S_fold) · factor</c> (<paramref name="factor"/> rescales a
    /// weighted fold fit's weights to sum to its <paramref name="n"/> rows, as glmnet; 1 without weights), entry by entry
    /// as the matrix is read, so G itself is never formed. A is written into <paramref name="into"/> when it holds q x q values
    /// (a pooled buffer the caller owns for as long as it uses the system; <see cref="A"/> is then that buffer, longer than q x q).
    /// </summary>
    internal static NormalSystem FromDifference(double[] gramAll, double[] gramFold, double[] sumsAll, double[] sumsFold, double factor,
        double[] shift, int n, string[] featureNames, bool standardize, bool fitIntercept, double[]? into = null, CancellationToken ct = default) =>
        Build(gramAll, gramFold, sumsAll, sumsFold, factor, shift, n, featureNames, standardize, fitIntercept, ct, into);

    /// <summary>
    /// The system of G = <paramref name="gram"/> (minus <paramref name="minusGram"/>, times <paramref name="factor"/>, when
    /// given) and its sums, each entry of A computed once as <c>(G_ab − S_a S_b / n) / (n s_a s_b)</c>, with no k x k
    /// intermediate. Fully optimized at its first call (a fit builds one system per fold, too few calls for tiered JIT).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static NormalSystem Build(double[] gram, double[]? minusGram, double[] sums, double[]? minusSums, double factor,
        double[] shift, int n, string[] featureNames, bool standardize, bool fitIntercept, CancellationToken ct, double[]? into = null,
        int threads = 1)
    {
        int k = sums.Length, p = k - 1;
        ArraySizes.Square(k, $"the Gram matrix of {p} features");
        var s = new double[k];
        for (int a = 0; a < k; a++) s[a] = minusSums is null ? sums[a] : (sums[a] - minusSums[a]) * factor;
        var mean = new double[k];
        var actual = new double[k];
        for (int a = 0; a < k; a++)
        {
            actual[a] = shift[a] + s[a] / n;
            mean[a] = fitIntercept ? actual[a] : 0.0;
        }

        // As glmnet: a constant feature is left out (with or without an intercept), and the scale is the
        // feature's standard deviation about its mean (1/n) even when no intercept is fitted.
        var warnings = new List<string>();
        var scales = new double[p];
        var active = new List<int>(p);
        for (int j = 0; j < p; j++)
        {
            double cjj = Cross(gram, minusGram, factor, s, n, fitIntercept, (long)j * k + j, j, j);
            double variance = fitIntercept
                ? Math.Max(cjj / n, 0.0)
                : Math.Max(cjj / n - actual[j] * actual[j], 0.0);
            var scale = Standardization.Of(actual[j], variance, fitIntercept, standardize);
            scales[j] = scale.Scale;
            if (scale.Excluded)
            {
                warnings.Add(Standardization.ZeroVarianceWarning(featureNames[j]));
                continue;
            }
            active.Add(j);
        }

        int q = active.Count;
        int square = ArraySizes.Square(q, $"the normal equations of {q} features");
        var aMatrix = into is not null && into.Length >= square ? into : new double[square];
        var c = new double[q];
        int[] activeIndex = [.. active];
        // Rows of A are independent: with many features (a 500 x 500 A is about 2 ms of one thread) they are split between threads.
        int parts = threads > 1 && (long)q * q >= ParallelRowsMinValues ? Math.Min(threads, q) : 1;
        if (parts == 1)
            Rows(0, q, activeIndex, scales, gram, minusGram, factor, s, n, k, fitIntercept, aMatrix, c, ct);
        else
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, t =>
                Rows((int)((long)q * t / parts), (int)((long)q * (t + 1) / parts), activeIndex, scales, gram, minusGram, factor, s, n, k,
                    fitIntercept, aMatrix, c, ct));
        ct.ThrowIfCancellationRequested();
        return new NormalSystem(activeIndex, aMatrix, c, mean[..p], scales, mean[p], warnings)
        {
            TargetVariance = Math.Max(Cross(gram, minusGram, factor, s, n, fitIntercept, (long)p * k + p, p, p) / n, 0.0),
        };
    }

    /// <summary>Rows [<paramref name="from"/>, <paramref name="to"/>) of A and c (the token checked per row; the caller throws).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(int from, int to, int[] active, double[] scales, double[] gram, double[]? minusGram, double factor, double[] s,
        int n, int k, bool fitIntercept, double[] aMatrix, double[] c, CancellationToken ct)
    {
        int q = active.Length, p = k - 1;
        // Every feature active (the usual case): row u of A is a contiguous stretch of row u of the Gram, built in vectors.
        bool contiguous = q == p;
        for (int u = from; u < to; u++)
        {
            if (ct.IsCancellationRequested) return;
            int ju = active[u];
            long rowU = (long)ju * k, outU = (long)u * q;
            double nsu = n * scales[ju];
            c[u] = Cross(gram, minusGram, factor, s, n, fitIntercept, rowU + p, ju, p) / nsu;
            int v = contiguous
                ? RowBody(gram.AsSpan((int)rowU, q), minusGram is null ? default : minusGram.AsSpan((int)rowU, q), factor, s.AsSpan(0, q),
                    s[ju], n, fitIntercept, scales.AsSpan(0, q), nsu, aMatrix.AsSpan((int)outU, q))
                : 0;
            for (; v < q; v++)
            {
                int jv = active[v];
                aMatrix[outU + v] = Cross(gram, minusGram, factor, s, n, fitIntercept, rowU + jv, ju, jv) / (nsu * scales[jv]);
            }
        }
    }

    /// <summary>
    /// The whole vectors of one row of A over contiguous features, <c>a[v] = cross(v) / (nsu · scales[v])</c> with
    /// <c>cross(v) = g[v] − (sa · s[v]) / n</c> (or g[v] without an intercept) and <c>g[v] = gram[v]</c> or
    /// <c>(gram[v] − minus[v]) · factor</c>: the scalar <see cref="Cross"/>'s operations in its order, each exactly rounded, so
    /// the same bits on every tier. Returns where the scalar tail starts (0 on the scalar tier).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int RowBody(ReadOnlySpan<double> gram, ReadOnlySpan<double> minus, double factor, ReadOnlySpan<double> s, double sa, int n,
        bool fitIntercept, ReadOnlySpan<double> scales, double nsu, Span<double> a) => Kernels.KernelIsa.Current switch
        {
            Kernels.KernelPath.Vector512 => RowBody<Kernels.Simd512, Vector512<double>>(gram, minus, factor, s, sa, n, fitIntercept, scales, nsu, a),
            Kernels.KernelPath.Vector256 => RowBody<Kernels.Simd256, Vector256<double>>(gram, minus, factor, s, sa, n, fitIntercept, scales, nsu, a),
            Kernels.KernelPath.Vector128 => RowBody<Kernels.Simd128, Vector128<double>>(gram, minus, factor, s, sa, n, fitIntercept, scales, nsu, a),
            _ => 0,
        };

    private static int RowBody<S, TV>(ReadOnlySpan<double> gram, ReadOnlySpan<double> minus, double factor, ReadOnlySpan<double> s, double sa,
        int n, bool fitIntercept, ReadOnlySpan<double> scales, double nsu, Span<double> a) where S : Kernels.ISimd<TV> where TV : struct
    {
        int q = a.Length, w = S.Count, v = 0;
        if (gram.Length < q || s.Length < q || scales.Length < q || (!minus.IsEmpty && minus.Length < q))
            throw new ArgumentException("the row's inputs are shorter than the row");
        ref double g = ref MemoryMarshal.GetReference(gram);
        ref double m = ref MemoryMarshal.GetReference(minus);
        ref double sr = ref MemoryMarshal.GetReference(s);
        ref double sc = ref MemoryMarshal.GetReference(scales);
        ref double ar = ref MemoryMarshal.GetReference(a);
        bool difference = !minus.IsEmpty;
        TV vf = S.Splat(factor), vsa = S.Splat(sa), vn = S.Splat(n), vnsu = S.Splat(nsu);
        for (; v <= q - w; v += w)
        {
            TV x = S.Load(ref g, (nuint)v);
            if (difference) x = S.Multiply(S.Subtract(x, S.Load(ref m, (nuint)v)), vf);
            if (fitIntercept) x = S.Subtract(x, S.Divide(S.Multiply(vsa, S.Load(ref sr, (nuint)v)), vn));
            S.Store(S.Divide(x, S.Multiply(vnsu, S.Load(ref sc, (nuint)v))), ref ar, (nuint)v);
        }
        return v;
    }

    /// <summary>The centered cross-product of columns a and b: <c>G_ab − S_a S_b / n</c> with an intercept, else <c>G_ab</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Cross(double[] gram, double[]? minusGram, double factor, double[] s, int n, bool fitIntercept, long at, int a, int b)
    {
        double g = minusGram is null ? gram[at] : (gram[at] - minusGram[at]) * factor;
        return fitIntercept ? g - s[a] * s[b] / n : g;
    }

    /// <summary>Values of A from which its rows are built by several threads.</summary>
    internal const long ParallelRowsMinValues = 1L << 16;

    /// <summary>beta for one lambda, by Cholesky of A + lambda I.</summary>
    public double[] Solve(double lambda, CancellationToken ct = default)
    {
        var beta = new double[_c.Length];
        SymmetricSolve.RidgeSolve(_a.AsSpan(0, _c.Length * _c.Length), _c, lambda, beta, ct);
        return beta;
    }

    /// <summary>One eigendecomposition of A serving every lambda.</summary>
    public EigenRidgePath Eigen(CancellationToken ct = default) => new(_a.AsSpan(0, _c.Length * _c.Length), _c.Length, ct);

    /// <summary>One Householder reduction of A serving every lambda of a path (<see cref="TridiagonalRidge"/>; dispose it after).</summary>
    internal TridiagonalRidge Reduce(CancellationToken ct = default) => new(_a.AsSpan(0, _c.Length * _c.Length), _c.Length, _c, ct);

    public double[] Solve(EigenRidgePath eigen, double lambda)
    {
        var beta = new double[_c.Length];
        eigen.Solve(_c, lambda, beta);
        return beta;
    }

    /// <summary>The model at <paramref name="lambda"/> on both scales.</summary>
    public PathPoint Point(double lambda, double[] beta) => PointOf(lambda, beta, _active, Scales, FeatureMeans, _yMean);

    /// <summary>
    /// A model on both scales from standardized coefficients <paramref name="beta"/> over the
    /// <paramref name="active"/> features (the others are 0); the intercept moves the target mean
    /// by the means of the features. The primal and the dual closed form share it.
    /// </summary>
    internal static PathPoint PointOf(double lambda, double[] beta, int[] active, double[] scales, double[] means, double yMean)
    {
        int p = scales.Length;
        var standardized = new double[p];
        var original = new double[p];
        double intercept = yMean;
        int nonZero = 0;
        for (int u = 0; u < active.Length; u++)
        {
            int j = active[u];
            standardized[j] = beta[u];
            original[j] = beta[u] / scales[j];
            intercept -= means[j] * original[j];
            if (beta[u] != 0) nonZero++;
        }
        return new PathPoint(lambda, intercept, original, standardized, nonZero, null);
    }
}
