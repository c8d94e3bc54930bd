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

    /// <summary>The candidate's optional note (personal data; erased with the candidate).</summary>
    public string? Note { get; private set; }

    /// <summary>Erasure: removes the note. True when there was one.</summary>
    public bool EraseNote()
    {
        if (Note is null)
            return false;
        Note = null;
        return true;
    }

    /// <summary>What is wrong with a note (as the candidate reads it), or null when it is acceptable (an empty note is).</summary>
    public static string? NoteError(string? note)
    {
        note = note?.Trim();
        return string.IsNullOrEmpty(note) || (note.Length <= MaxNoteLength && !note.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
            ? null
            : $"The note can have at most {MaxNoteLength} characters (yours has {note.Length}) and no control characters.";
    }

    public static FeedbackRequest Create(Guid tenantId, Guid applicationId, string? note, DateTimeOffset now)
    {
        note = string.IsNullOrWhiteSpace(note) ? null : note.Trim();
        if (NoteError(note) is { } error)
        {
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The note is not valid.")
            {
                Errors = new Dictionary<string, string[]> { ["note"] = [error] },
            };
        }

        return new FeedbackRequest { Id = Guid.CreateVersion7(now), TenantId = tenantId, ApplicationId = applicationId, RequestedAt = now, Note = note };
    }
}
