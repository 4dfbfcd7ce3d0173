using System.Numerics.Tensors;
using System.Text;

namespace RegService.Numerics.Data;

/// <summary>
/// Polynomial expansion of the features: every power <c>x_j^k</c> for 1 ≤ k ≤ d and, with interactions, every
/// product of features of total degree ≤ d. A flexible basis tamed by a penalty (ridge on a polynomial basis) is the
/// classic picture of regularization: small lambdas overfit, large ones underfit.
/// </summary>
/// <remarks>
/// Columns are ordered as scikit-learn's PolynomialFeatures: by total degree, then lexicographically by input
/// index (x1, x2, x1^2, x1*x2, x2^2, ...); without interactions the degree-k block is x1^k, x2^k, .... Each monomial
/// is computed as a monomial of one degree less times one input column.
/// </remarks>
public static class FeatureExpansion
{
    public const int MaxDegree = 10;

    /// <summary>Most values (rows × columns) an expanded matrix may hold.</summary>
    public const long MaxValues = 200_000_000;

    /// <summary>Expanded features from <paramref name="inputs"/> features; int.MaxValue when that overflows an int.</summary>
    public static int Count(int inputs, ExpansionSpec e)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputs);
        int d = e.PolynomialDegree;
        if (!e.Interactions) return (long)inputs * d > int.MaxValue ? int.MaxValue : inputs * d;
        // C(inputs + d, d) - 1, computed incrementally (each partial product is itself a binomial coefficient).
        long c = 1;
        for (int k = 1; k <= d; k++)
        {
            c = c * (inputs + k) / k;
            if (c > int.MaxValue) return int.MaxValue;
        }
        return (int)(c - 1);
    }

    /// <summary>The expanded features' names in column order: <c>x1</c>, <c>x1^2</c>, <c>x1*x2</c>, <c>x1^2*x2</c>.</summary>
    public static string[] Names(IReadOnlyList<string> inputs, ExpansionSpec e)
    {
        var names = new List<string>();
        foreach (var exponents in Monomials(inputs.Count, e))
        {
            var name = new StringBuilder();
            for (int j = 0; j < exponents.Length; j++)
            {
                if (exponents[j] == 0) continue;
                if (name.Length > 0) name.Append('*');
                name.Append(inputs[j]);
                if (exponents[j] > 1) name.Append('^').Append(exponents[j]);
            }
            names.Add(name.ToString());
        }
        return [.. names];
    }

    /// <summary>The n × Count matrix of the expanded features of <paramref name="columns"/> of <paramref name="x"/>.</summary>
    public static DenseMatrix Expand(DenseMatrix x, ReadOnlySpan<int> columns, ExpansionSpec e) => Build(x, columns, e, extra: 0);

    /// <summary>
    /// The matrix [expanded features..., target] and the spec that fits it: features 0..q-1 with their expanded names,
    /// target q, column shifts the new columns' means. Penalty factors, when given, must already be one per expanded
    /// feature. Rows are unchanged, so folds, fold ids and holdouts carry over.
    /// </summary>
    public static (DenseMatrix X, FitSpec Spec) Apply(DenseMatrix x, FitSpec spec)
    {
        var e = spec.Expansion ?? throw new ArgumentException("no expansion to apply");
        Check(x.Rows, spec.FeatureColumns.Length, e);
        int q = Count(spec.FeatureColumns.Length, e);
        if (spec.PenaltyFactors is { } factors && factors.Length != q)
            throw new ArgumentException($"{factors.Length} penalty factors for {q} expanded features: give one per expanded feature");
        var expanded = Build(x, spec.FeatureColumns, e, extra: 1);
        x.Column(spec.TargetColumn).CopyTo(expanded.Column(q));
        var shift = new double[q + 1];
        for (int j = 0; j <= q; j++) shift[j] = TensorPrimitives.Sum<double>(expanded.Column(j)) / Math.Max(x.Rows, 1);
        return (expanded, spec with
        {
            FeatureColumns = [.. Enumerable.Range(0, q)],
            FeatureNames = Names(spec.FeatureNames, e),
            TargetColumn = q,
            ColumnShift = shift,
            Expansion = null,
        });
    }

    private static void Check(int rows, int inputs, ExpansionSpec e)
    {
        if (e.PolynomialDegree is < 1 or > MaxDegree)
            throw new ArgumentException($"polynomial degree {e.PolynomialDegree} is outside 1..{MaxDegree}");
        int q = Count(inputs, e);
        long values = (long)rows * ((long)q + 1);
        if (q == int.MaxValue || values > MaxValues)
            throw new ArgumentException($"the expansion of {inputs} features to degree {e.PolynomialDegree} makes {(q == int.MaxValue ? "over 2^31" : q)} features, {(q == int.MaxValue ? "too many" : values)} values; at most {MaxValues} are allowed");
    }

    private static DenseMatrix Build(DenseMatrix x, ReadOnlySpan<int> columns, ExpansionSpec e, int extra)
    {
        Check(x.Rows, columns.Length, e);
        int n = x.Rows, p = columns.Length, q = Count(p, e);
        foreach (var c in columns)
            if ((uint)c >= (uint)x.Columns) throw new ArgumentException($"column {c} is outside the matrix's {x.Columns} columns");
        var result = new DenseMatrix(n, q + extra);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        int k = 0;
        foreach (var exponents in Monomials(p, e))
        {
            // A monomial of degree one is its input; otherwise the monomial with the last factor's exponent lowered by
            // one (computed before it, as its degree is lower) times that input.
            int last = Array.FindLastIndex(exponents, v => v > 0);
            var target = result.Column(k);
            if (exponents.Sum() == 1)
                x.Column(columns[last]).CopyTo(target);
            else
            {
                exponents[last]--;
                var lower = result.Column(index[Key(exponents)]);
                exponents[last]++;
                var input = x.Column(columns[last]);
                for (int i = 0; i < n; i++) target[i] = lower[i] * input[i];
            }
            index[Key(exponents)] = k++;
        }
        return result;
    }

    private static string Key(int[] exponents) => string.Join(',', exponents);

    /// <summary>Exponent vectors in column order: by total degree, then lexicographically by input index.</summary>
    private static IEnumerable<int[]> Monomials(int p, ExpansionSpec e)
    {
        if (p == 0) yield break;
        for (int degree = 1; degree <= e.PolynomialDegree; degree++)
        {
            if (!e.Interactions || degree == 1)
            {
                for (int j = 0; j < p; j++)
                {
                    var exponents = new int[p];
                    exponents[j] = degree;
                    yield return exponents;
                }
                continue;
            }
            // Non-decreasing index sequences of length degree (combinations with repetition), in lexicographic order.
            var chosen = new int[degree];
            while (true)
            {
                var exponents = new int[p];
                foreach (var j in chosen) exponents[j]++;
                yield return exponents;
                int pos = degree - 1;
                while (pos >= 0 && chosen[pos] == p - 1) pos--;
                if (pos < 0) break;
                chosen[pos]++;
                for (int r = pos + 1; r < degree; r++) chosen[r] = chosen[pos];
            }
        }
    }
}
