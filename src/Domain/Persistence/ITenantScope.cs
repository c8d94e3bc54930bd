namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// Which tenant's rows a unit of work may see. The API scopes every request to the caller's tenant
/// (and to no tenant at all before authentication); the worker and host commands are unscoped.
/// </summary>
public interface ITenantScope
{
    /// <summary>The tenant whose rows are visible, or null for the system (all tenants).</summary>
    Guid? TenantId { get; }
}

/// <summary>Unscoped: for the worker and one-shot commands, which look rows up by id.</summary>
public sealed class SystemTenantScope : ITenantScope
{
    public Guid? TenantId => null;
}
