using FeedbackHub.Domain.Model;
namespace FeedbackHub.Domain.Delivery;

/// <summary>A candidate's ask for feedback on one application (one per application; asking again changes nothing).</summary>
public sealed class FeedbackRequest
{
    public const int MaxNoteLength = 1000;

    private FeedbackRequest()
    {
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public Guid ApplicationId { get; private set; }

    public DateTimeOffset RequestedAt { get; private set; }

    /// <summary>
    /// When the feedback email to the candidate was accepted by the mail server: set by the database (trigger
    /// <c>outbound_sent_answers_request</c>) whichever code path records the send. Null while the candidate waits.
    /// </summary>
    public DateTimeOffset? AnsweredAt { get; private set; }

    /// <summary>The candidate's optional note (personal data; erased with the candidate).</summary>
    public string? Note { get; private set; }

    /// <summary>What is wrong with a note (as the candidate reads it), or null when it is acceptable (an empty note is).</summary>
    public static string? NoteError(string? note)
    {
        note = note?.Trim();
        if (string.IsNullOrEmpty(note))
            return null;
        return note.Length > MaxNoteLength
            ? $"The note can have at most {MaxNoteLength} characters (yours has {note.Length})."
            : TextInput.Problem(note, TextKind.MultiLine);
    }

    /// <summary>The note as stored (trimmed, null when empty); a 422 naming <c>note</c> when it breaks <see cref="NoteError"/>.</summary>
    public static string? ValidNote(string? note)
    {
        note = string.IsNullOrWhiteSpace(note) ? null : note.Trim();
        if (NoteError(note) is { } error)
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The note is not valid.")
            {
                Errors = new Dictionary<string, string[]> { ["note"] = [error] },
            };
        }

        return note;
    }

    public static FeedbackRequest Create(Guid tenantId, Guid applicationId, string? note, DateTimeOffset now)
    {
        note = ValidNote(note);
        return new FeedbackRequest { Id = Guid.CreateVersion7(now), TenantId = tenantId, ApplicationId = applicationId, RequestedAt = now, Note = note };
    }
}
