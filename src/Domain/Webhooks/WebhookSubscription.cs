using System.Security.Cryptography;
using FeedbackHub.Domain.Model;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>
/// A tenant's subscription of one URL to some event types. The signing secret is generated here, shown once (in the
/// create and rotate answers) and kept sealed (<see cref="WebhookSecretBox"/>): it must be usable for the HMAC at send time.
/// </summary>
public sealed class WebhookSubscription
{
    public const int MaxDescriptionLength = 200;
    public const string SecretPrefix = "whsec_";

    private WebhookSubscription()
    {
        Url = string.Empty;
        Events = [];
        SealedSecret = [];
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public string Url { get; private set; }

    public List<string> Events { get; private set; }

    public string? Description { get; private set; }

    public bool Enabled { get; private set; }

    /// <summary>The secret sealed with AES-GCM (never the secret itself).</summary>
    public byte[] SealedSecret { get; private set; }

    /// <summary>After a rotation: the replaced secret, sealed, still signing beside the new one until <see cref="PreviousSecretExpiresAt"/>.</summary>
    public byte[]? PreviousSealedSecret { get; private set; }

    public DateTimeOffset? PreviousSecretExpiresAt { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    /// <summary>Creates an enabled subscription; <paramref name="url"/> is already checked (<see cref="WebhookTargets"/>). Returns the secret once.</summary>
    public static (WebhookSubscription Subscription, string Secret) Create(
        Guid tenantId, Uri url, IReadOnlyList<string>? events, string? description, WebhookSecretBox box, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(box);
        var errors = new Dictionary<string, string[]>();
        var checkedEvents = CheckEvents(events, errors);
        var checkedDescription = CheckDescription(description, errors);
        ThrowIfAny(errors);
        var subscription = new WebhookSubscription
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            Url = url.AbsoluteUri,
            Events = checkedEvents,
            Description = checkedDescription,
            Enabled = true,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var secret = NewSecret();
        subscription.SealedSecret = box.Seal(secret, subscription.Id);
        return (subscription, secret);
    }

    /// <summary>Validates the request's fields together, so one answer lists every bad field (the URL is checked by the caller).</summary>
    public static void Validate(IReadOnlyList<string>? events, string? description, bool eventsGiven = true)
    {
        var errors = new Dictionary<string, string[]>();
        if (eventsGiven)
            CheckEvents(events, errors);
        CheckDescription(description, errors);
        ThrowIfAny(errors);
    }

    /// <summary>Changes what is given (null keeps the value); <paramref name="url"/> is already checked.</summary>
    public void Update(Uri? url, IReadOnlyList<string>? events, string? description, bool? enabled, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>();
        var checkedEvents = events is null ? null : CheckEvents(events, errors);
        var checkedDescription = description is null ? null : CheckDescription(description, errors);
        ThrowIfAny(errors);
        if (url is not null)
            Url = url.AbsoluteUri;
        if (checkedEvents is not null)
            Events = checkedEvents;
        if (description is not null)
            Description = checkedDescription;
        if (enabled is { } e)
            Enabled = e;
        UpdatedAt = now;
    }

    /// <summary>
    /// A new secret, effective for every attempt from now on (also retries of earlier events). Returned once. For
    /// <paramref name="overlap"/> the replaced secret keeps signing too (a second <c>v1=</c>), so a receiver that still
    /// knows only the old one accepts events while it is redeployed; a zero overlap drops it at once.
    /// </summary>
    public string RotateSecret(WebhookSecretBox box, DateTimeOffset now, TimeSpan overlap)
    {
        ArgumentNullException.ThrowIfNull(box);
        var secret = NewSecret();
        var keep = overlap > TimeSpan.Zero && Opens(box, SealedSecret); // a secret no key opens could never sign again
        PreviousSealedSecret = keep ? SealedSecret : null;
        PreviousSecretExpiresAt = keep ? now + overlap : null;
        SealedSecret = box.Seal(secret, Id);
        UpdatedAt = now;
        return secret;
    }

    private bool Opens(WebhookSecretBox box, byte[] sealedSecret)
    {
        try
        {
            box.Open(sealedSecret, Id);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>
    /// The secrets to sign with now: the current one, then the replaced one while its overlap lasts (if it still
    /// opens; a previous secret that does not is skipped rather than blocking delivery).
    /// </summary>
    public IReadOnlyList<string> SigningSecrets(WebhookSecretBox box, DateTimeOffset now) =>
        SigningSecrets(box, Id, SealedSecret, PreviousSealedSecret, PreviousSecretExpiresAt, now);

    /// <summary><see cref="SigningSecrets(WebhookSecretBox, DateTimeOffset)"/> from a subscription's stored columns (the worker's claim reads them with the deliveries).</summary>
    public static IReadOnlyList<string> SigningSecrets(
        WebhookSecretBox box, Guid id, byte[] sealedSecret, byte[]? previousSealedSecret, DateTimeOffset? previousSecretExpiresAt, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(box);
        var current = box.Open(sealedSecret, id);
        if (previousSealedSecret is null || previousSecretExpiresAt is not { } until || until <= now)
            return [current];
        try
        {
            return [current, box.Open(previousSealedSecret, id)];
        }
        catch (CryptographicException)
        {
            return [current];
        }
    }

    /// <summary>
    /// Key rotation: re-seals the same secret under the box's current key when only an earlier key opens it (receivers
    /// notice nothing). False when it is already sealed under the current key; throws <see cref="CryptographicException"/>
    /// when no configured key opens it.
    /// </summary>
    public bool ResealUnderCurrentKey(WebhookSecretBox box)
    {
        ArgumentNullException.ThrowIfNull(box);
        var secret = box.Open(SealedSecret, Id, out var current);
        string? previous = null;
        var previousCurrent = true;
        if (PreviousSealedSecret is not null)
        {
            try
            {
                previous = box.Open(PreviousSealedSecret, Id, out previousCurrent);
            }
            catch (CryptographicException)
            {
                (PreviousSealedSecret, PreviousSecretExpiresAt, previousCurrent) = (null, null, false); // unreadable: it would never sign again
            }
        }

        if (current && previousCurrent)
            return false;
        SealedSecret = box.Seal(secret, Id);
        if (previous is not null)
            PreviousSealedSecret = box.Seal(previous, Id);
        return true;
    }

    public string OpenSecret(WebhookSecretBox box)
    {
        ArgumentNullException.ThrowIfNull(box);
        return box.Open(SealedSecret, Id);
    }

    public bool Wants(string eventType) => Enabled && Events.Contains(eventType, StringComparer.Ordinal);

    /// <summary><c>whsec_</c> + 32 random bytes, base64url.</summary>
    public static string NewSecret() =>
        SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static List<string> CheckEvents(IReadOnlyList<string>? events, Dictionary<string, string[]> errors)
    {
        if (events is null || events.Count == 0)
        {
            errors["events"] = [$"At least one event type: {string.Join(", ", WebhookEventTypes.All)}."];
            return [];
        }

        for (var i = 0; i < events.Count; i++)
        {
            if (!WebhookEventTypes.IsKnown(events[i]))
                errors[$"events[{i}]"] = [$"Unknown event type; known: {string.Join(", ", WebhookEventTypes.All)}."];
        }

        return events.Distinct(StringComparer.Ordinal).ToList();
    }

    private static string? CheckDescription(string? description, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(description))
            return null;
        description = description.Trim();
        if (description.Length > MaxDescriptionLength || !TextInput.IsValid(description, TextKind.MultiLine))
            errors["description"] = [$"At most {MaxDescriptionLength} characters, without control or invisible formatting characters."];
        return description;
    }

    private static void ThrowIfAny(Dictionary<string, string[]> errors)
    {
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The webhook subscription is not valid.") { Errors = errors };
    }
}
