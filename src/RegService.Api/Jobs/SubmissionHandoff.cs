using System.Collections.Concurrent;
using System.Text.Json;
using RegService.Api.Fits;

namespace RegService.Api.Jobs;

/// <summary>
/// Submissions this process has just stored, by their stored text, so a worker here that claims one takes
/// the submission as it was written instead of parsing the text back (the spec's arrays included). The key
/// is the whole stored text: a claimed row whose text differs in any way (another replica's, an earlier
/// version's) is parsed as before, and the object handed over is the one that text was written from.
/// Small submissions only, a bounded number of them: one claimed elsewhere is dropped with the rest when the
/// bound is reached. The requests of recent stored texts are kept the same way for the fit's answers (submit, polls,
/// lists), which echo the request: read-only, shared by every answer for the same text.
/// </summary>
public static class SubmissionHandoff
{
    private const int MaxEntries = 256;
    private const int MaxChars = 64 * 1024;

    // Identical submissions (the same request on the same data set) have the same text: each keeps its own object.
    private static readonly ConcurrentDictionary<string, ConcurrentStack<StoredSubmission>> Entries = new(StringComparer.Ordinal);
    private static int _count;
    private static readonly ConcurrentDictionary<string, FitRequest> Requests = new(StringComparer.Ordinal);

    /// <summary>Stores the submission (as <see cref="StoredSubmission.Write"/> does) and keeps it for a worker here.</summary>
    public static string Write(StoredSubmission submission, JsonSerializerOptions options)
    {
        var stored = submission.Write(options);
        if (stored.Length <= MaxChars)
        {
            if (Interlocked.Increment(ref _count) > MaxEntries)
            {
                Entries.Clear();
                Interlocked.Exchange(ref _count, 1);
            }
            Entries.GetOrAdd(stored, _ => new ConcurrentStack<StoredSubmission>()).Push(submission);
            KeepRequest(stored, submission.Request);
        }
        return stored;
    }

    /// <summary>The request a stored submission holds (<see cref="StoredSubmission.ReadRequest"/>), parsed once per stored text.</summary>
    public static FitRequest Request(string stored, JsonSerializerOptions options)
    {
        if (Requests.TryGetValue(stored, out var request)) return request;
        request = StoredSubmission.ReadRequest(stored, options);
        if (stored.Length <= MaxChars) KeepRequest(stored, request);
        return request;
    }

    private static void KeepRequest(string stored, FitRequest request)
    {
        if (Requests.Count >= MaxEntries) Requests.Clear();
        Requests[stored] = request;
    }

    /// <summary>The submission a claimed row holds: the one kept here when its text is the same, else parsed from the text.</summary>
    public static StoredSubmission Read(string stored, JsonSerializerOptions options) =>
        Take(stored) ?? StoredSubmission.Read(stored, options);

    /// <summary>Forgets one submission kept under this text, when queuing it failed (its text was not stored for it).</summary>
    public static void Forget(string stored) => Take(stored);

    private static StoredSubmission? Take(string stored)
    {
        if (!Entries.TryGetValue(stored, out var kept) || !kept.TryPop(out var submission)) return null;
        Interlocked.Decrement(ref _count);
        // One pushed between these two lines is dropped with the stack: its worker parses the text, as for any other.
        if (kept.IsEmpty) Entries.TryRemove(new KeyValuePair<string, ConcurrentStack<StoredSubmission>>(stored, kept));
        return submission;
    }
}
