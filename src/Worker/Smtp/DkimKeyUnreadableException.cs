namespace FeedbackHub.Worker.Smtp;

/// <summary>
/// The tenant's DKIM key exists but no configured operator key opens it. The email must wait, as for a mail-server
/// problem (<see cref="SendVerdict.ServerProblem"/>: retried, not counted, nothing suppressed): sending it unsigned could
/// land it in spam or have it refused where the tenant's domain publishes a strict DMARC policy, while nobody notices.
/// </summary>
public sealed class DkimKeyUnreadableException(Guid tenantId, Guid keyId)
    : Exception($"The DKIM key {keyId} of tenant {tenantId} does not open with the configured Webhooks:SecretKey or Webhooks:PreviousSecretKeys.")
{
    public Guid TenantId { get; } = tenantId;

    public Guid KeyId { get; } = keyId;
}
