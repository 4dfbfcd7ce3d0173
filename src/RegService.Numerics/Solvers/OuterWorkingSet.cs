namespace RegService.Numerics.Solvers;

/// <summary>A feature's score for the rules of <see cref="OuterWorkingSet"/>: |g_j| for one coefficient; for a block of
/// coefficients (the classes of a multinomial fit) max_k |g_kj|, or ||g_j||_2 when the block is penalized as a group.</summary>
internal interface IFeatureScores
{
    double Score(int j);
}

/// <summary>|g_j| of a gradient over the features.</summary>
internal readonly struct AbsoluteGradient(double[] gradient) : IFeatureScores
{
    public double Score(int j) => Math.Abs(gradient[j]);
}

/// <summary>
/// The outer working set of the path solvers that solve each lambda on a subset of the features and check the rest
/// afterwards: proximal Newton (binomial and poisson, <see cref="LogisticPathSolver"/>; multinomial,
/// <see cref="MultinomialPathSolver"/>) and proximal gradient (<see cref="ProximalGradientPath"/>). With glmnet's objective,
/// penalty lambda v_j [(1 - alpha)/2 b_j² + alpha |b_j|] and g_j the gradient of the loss at the current point:
/// <list type="bullet">
/// <item>the sequential strong rule (Tibshirani et al. 2012): from the solution at lambda_prev, feature j joins for lambda
/// when |g_j| ≥ alpha max(2 lambda − lambda_prev, 0) v_j, an unpenalized feature always (<see cref="JoinStrong"/>);</item>
/// <item>the KKT condition of a feature outside, whose coefficient is 0: |g_j| ≤ lambda alpha v_j; a feature that violates
/// it joins and the solver goes on (<see cref="JoinViolators"/>).</item>
/// </list>
/// Members keep the order in which they joined (<see cref="Members"/>; the Newton solver's coordinate order) and a flag per
/// feature (<see cref="Flags"/>, shared with the passes that read it); excluded features (zero variance) never join by a rule.
/// The rules take the score as a struct type parameter (<see cref="IFeatureScores"/>), so a check is one loop over the
/// features with no delegate and no allocation.
/// </summary>
internal sealed class OuterWorkingSet
{
    private readonly bool[] _in;
    private readonly List<int> _members = [];
    private readonly bool[] _excluded;
    private readonly double[] _v;
    private readonly double _alpha;

    /// <param name="penaltyFactors">v_j (0: unpenalized).</param>
    /// <param name="alpha">The elastic net's mixing (l1Ratio).</param>
    /// <param name="excluded">Features left out of the fit (zero variance).</param>
    public OuterWorkingSet(double[] penaltyFactors, double alpha, bool[] excluded)
    {
        _v = penaltyFactors;
        _alpha = alpha;
        _excluded = excluded;
        _in = new bool[excluded.Length];
        foreach (bool e in excluded) if (!e) Candidates++;
    }

    /// <summary>Membership per feature (the array itself: solvers and passes read it).</summary>
    public bool[] Flags => _in;

    /// <summary>The members, in the order they joined.</summary>
    public List<int> Members => _members;

    public int Count => _members.Count;

    /// <summary>The features not excluded.</summary>
    public int Candidates { get; }

    /// <summary>The candidates outside the set (screened out), when only candidates have joined.</summary>
    public int Outside => Candidates - _members.Count;

    public bool Contains(int j) => _in[j];

    /// <summary>Adds feature <paramref name="j"/>; false when it was a member already.</summary>
    public bool Add(int j)
    {
        if (_in[j]) return false;
        _in[j] = true;
        _members.Add(j);
        return true;
    }

    /// <summary>Empties the set (a solver that chooses its set afresh at each lambda).</summary>
    public void Clear()
    {
        foreach (int j in _members) _in[j] = false;
        _members.Clear();
    }

    /// <summary>The members in feature order.</summary>
    public int[] Sorted()
    {
        var set = new int[_members.Count];
        int q = 0;
        for (int j = 0; j < _in.Length; j++) if (_in[j]) set[q++] = j;
        return set;
    }

    /// <summary>The features of <paramref name="candidate"/> outside the set, in feature order.</summary>
    public List<int> OutsideOf(bool[] candidate)
    {
        var outer = new List<int>();
        for (int j = 0; j < _in.Length; j++)
            if (candidate[j] && !_in[j]) outer.Add(j);
        return outer;
    }

    /// <summary>The candidates (features not excluded) outside the set, in feature order.</summary>
    public List<int> OutsideCandidates()
    {
        var outer = new List<int>(_in.Length - _members.Count);
        for (int j = 0; j < _in.Length; j++)
            if (!_excluded[j] && !_in[j]) outer.Add(j);
        return outer;
    }

    /// <summary>The sequential strong rule's cut alpha max(2 lambda − lambda_prev, 0): feature j passes when |g_j| ≥ cut v_j.</summary>
    public double StrongCut(double lambda, double previousLambda) => _alpha * Math.Max(2 * lambda - previousLambda, 0);

    /// <summary>The KKT condition's cut lambda alpha: a feature outside meets it when |g_j| ≤ cut v_j.</summary>
    public double KktCut(double lambda) => lambda * _alpha;

    /// <summary>Adds every candidate outside the set that the sequential strong rule selects for <paramref name="lambda"/> from
    /// the scores at the solution of <paramref name="previousLambda"/>, and every unpenalized one; returns how many joined.</summary>
    public int JoinStrong<T>(in T scores, double lambda, double previousLambda) where T : struct, IFeatureScores
    {
        double cut = StrongCut(lambda, previousLambda);
        int joined = 0;
        for (int j = 0; j < _in.Length; j++)
        {
            if (_in[j] || _excluded[j]) continue;
            if (_v[j] == 0 || scores.Score(j) >= cut * _v[j])
            {
                Add(j);
                joined++;
            }
        }
        return joined;
    }

    /// <summary>Adds every candidate outside the set whose score violates the KKT condition at <paramref name="lambda"/>
    /// (score &gt; lambda alpha v_j); returns how many joined.</summary>
    public int JoinViolators<T>(in T scores, double lambda) where T : struct, IFeatureScores
    {
        double cut = KktCut(lambda);
        int joined = 0;
        for (int j = 0; j < _in.Length; j++)
        {
            if (_in[j] || _excluded[j]) continue;
            if (scores.Score(j) > cut * _v[j])
            {
                Add(j);
                joined++;
            }
        }
        return joined;
    }
}
