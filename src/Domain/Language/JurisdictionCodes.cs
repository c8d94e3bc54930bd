namespace FeedbackHub.Domain.Language;

/// <summary>
/// The jurisdiction packs of the rule catalog, as constants for places that need them at compile time (the OpenAPI
/// enum); a test keeps them equal to <see cref="RuleCatalog.Jurisdictions"/>.
/// </summary>
public static class JurisdictionCodes
{
    public const string US = "US";
    public const string UK = "UK";
    public const string DE = "DE";
}
