namespace RegService.Numerics.Fitting;

/// <summary>Why iterative training ended.</summary>
public enum StopReason
{
    /// <summary>All requested epochs ran.</summary>
    EpochsExhausted,
    /// <summary>Early stopping: the validation loss did not improve by minDelta for patience epochs.</summary>
    EarlyStopped,
    /// <summary>Full-batch solvers: the tolerance was met.</summary>
    Converged,
    /// <summary>The loss became infinite or NaN (a learning rate too large); the best finite weights are kept.</summary>
    Diverged,
}

/// <summary>Loss per epoch: the training objective's loss on the training rows, and the validation loss (early stopping).</summary>
public sealed record LearningCurve(double[] Train, double[]? Validation);

/// <summary>How a stochastic training run went.</summary>
/// <param name="EpochsRun">Epochs trained.</param>
/// <param name="BestEpoch">1-based epoch whose weights were kept (the last one without early stopping).</param>
/// <param name="StopReason">Why training ended.</param>
/// <param name="Curve">Loss per epoch.</param>
/// <param name="TrainRows">Rows trained on (all rows minus the early-stopping validation rows).</param>
/// <param name="ValidationRows">Rows held out for early stopping (0 without it).</param>
public sealed record TrainingReport(
    int EpochsRun,
    int BestEpoch,
    StopReason StopReason,
    LearningCurve Curve,
    int TrainRows,
    int ValidationRows)
{
    /// <summary>The step size trained with (the one given, or the solver's default).</summary>
    public double LearningRate { get; init; }
}

/// <summary>
/// One dense layer: <c>out = W in + b</c>, <see cref="Weights"/> row-major (<see cref="Outputs"/> rows of
/// <see cref="Inputs"/>). Hidden layers apply ReLU; the last layer has one output, the linear predictor.
/// </summary>
public sealed record DenseLayer(int Inputs, int Outputs, double[] Weights, double[] Biases)
{
    /// <summary>Frobenius norm of the weights.</summary>
    public double WeightNorm
    {
        get
        {
            double s = 0;
            foreach (var w in Weights) s += w * w;
            return Math.Sqrt(s);
        }
    }
}

/// <summary>
/// A fitted MLP on standardized inputs: input j is <c>(x_j - Means[j]) / Scales[j]</c>, then the layers; the last
/// layer's output is the linear predictor eta (gaussian: the prediction; binomial: the log-odds). Dropout is a
/// training device only: the stored weights are used as they are.
/// </summary>
public sealed record NetworkModel(DenseLayer[] Layers, double[] Means, double[] Scales, Family Family)
{
    /// <summary>The linear predictor eta of every row of <paramref name="x"/>, features in <paramref name="columns"/>.</summary>
    /// <remarks>Rows are standardized in blocks of 256 into a row-major buffer and run through the vectorized layer products
    /// (<see cref="Kernels.DenseKernels"/>), blocks split between cores for large inputs.</remarks>
    public double[] LinearPredictor(DenseMatrix x, ReadOnlySpan<int> columns)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (columns.Length != Means.Length) throw new ArgumentException($"{columns.Length} columns for a network of {Means.Length} inputs");
        if (Scales.Length != Means.Length) throw new ArgumentException($"{Scales.Length} scales for {Means.Length} means");
        foreach (var c in columns)
            if ((uint)c >= (uint)x.Columns) throw new ArgumentException($"column {c} is outside the matrix's {x.Columns} columns");
        var (layout, theta) = Training.NetworkLayout.FromLayers(Layers);
        if (layout.Inputs != Means.Length) throw new ArgumentException($"the first layer takes {layout.Inputs} inputs but there are {Means.Length} means");
        return Training.NetworkPasses.Predict(layout, theta, x, columns.ToArray(), Means, Scales);
    }

    /// <summary>Predictions: fitted values (gaussian) or probabilities of class 1 (binomial).</summary>
    public double[] Predict(DenseMatrix x, ReadOnlySpan<int> columns)
    {
        var eta = LinearPredictor(x, columns);
        if (Family == Family.Binomial)
            for (int i = 0; i < eta.Length; i++) eta[i] = Prediction.Logistic(eta[i]);
        return eta;
    }
}
