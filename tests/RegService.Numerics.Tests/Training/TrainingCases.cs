using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Numerics.Tests.Training;

/// <summary>Seeded data sets and specs for the stochastic-solver tests.</summary>
internal static class TrainingCases
{
    public static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>n x (p + 1): p features with their own offsets and scales, target last: a linear signal plus noise.</summary>
    public static DenseMatrix Linear(int n, int p, int seed, double noise = 0.5, bool binary = false)
    {
        var rng = new Random(seed);
        var x = new DenseMatrix(n, p + 1);
        for (int i = 0; i < n; i++)
        {
            double eta = 0.5;
            for (int j = 0; j < p; j++)
            {
                double z = Normal(rng);
                x[i, j] = 3 * j - 2 + (0.5 + j % 3) * z;
                if (j < 4) eta += (j % 2 == 0 ? 1.0 : -0.7) * z;
            }
            x[i, p] = binary ? (rng.NextDouble() < 1 / (1 + Math.Exp(-eta)) ? 1 : 0) : eta + noise * Normal(rng);
        }
        return x;
    }

    /// <summary>A nonlinear gaussian problem: y = sin(2 x1) + x2^2 - x1 x3 + noise, with two noise features.</summary>
    public static DenseMatrix Nonlinear(int n, int seed, double noise = 0.2)
    {
        const int p = 5;
        var rng = new Random(seed);
        var x = new DenseMatrix(n, p + 1);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < p; j++) x[i, j] = 2 * rng.NextDouble() - 1;
            x[i, p] = Math.Sin(2 * x[i, 0]) + 2 * x[i, 1] * x[i, 1] - 2 * x[i, 0] * x[i, 2] + noise * Normal(rng);
        }
        return x;
    }

    public static FitSpec Spec(int p, Family family = Family.Gaussian, Penalty penalty = Penalty.None, double lambda = 0,
        SolverKind solver = SolverKind.Adam, TrainingSpec? training = null, ModelKind model = ModelKind.Linear) => new()
    {
        FeatureColumns = [.. Enumerable.Range(0, p)],
        FeatureNames = [.. Enumerable.Range(0, p).Select(j => $"x{j + 1}")],
        TargetColumn = p,
        Family = family,
        Penalty = penalty,
        L1Ratio = penalty switch { Penalty.Lasso => 1, Penalty.ElasticNet => 0.5, _ => 0 },
        Lambdas = penalty == Penalty.None ? null : [lambda],
        Solver = solver,
        Model = model,
        Training = training,
    };

    /// <summary>Rows [from, to) of x as a new matrix.</summary>
    public static DenseMatrix Rows(DenseMatrix x, int from, int to)
    {
        var part = new DenseMatrix(to - from, x.Columns);
        for (int j = 0; j < x.Columns; j++)
            for (int i = from; i < to; i++) part[i - from, j] = x[i, j];
        return part;
    }

    public static double Mse(double[] prediction, DenseMatrix x, int target)
    {
        double s = 0;
        for (int i = 0; i < x.Rows; i++) s += (prediction[i] - x[i, target]) * (prediction[i] - x[i, target]);
        return s / x.Rows;
    }
}
