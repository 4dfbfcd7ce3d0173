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

    private static readonly ConcurrentDictionary<string, StoredSubmission> Entries = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, FitRequest> Requests = new(StringComparer.Ordinal);

    /// <summary>Stores the submission (as <see cref="StoredSubmission.Write"/> does) and keeps it for a worker here.</summary>
    public static string Write(StoredSubmission submission, JsonSerializerOptions options)
    {
        var stored = submission.Write(options);
        if (stored.Length <= MaxChars)
        {
            if (Entries.Count >= MaxEntries) Entries.Clear();
            Entries[stored] = submission;
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
        Entries.TryRemove(stored, out var kept) ? kept : StoredSubmission.Read(stored, options);

    /// <summary>Forgets what a process that failed to queue the submission kept (its text is not stored).</summary>
    public static void Forget(string stored) => Entries.TryRemove(stored, out _);
}
