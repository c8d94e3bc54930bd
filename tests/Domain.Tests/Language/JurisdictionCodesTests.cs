using System.Reflection;
using FeedbackHub.Domain.Language;

namespace FeedbackHub.Domain.Tests.Language;

public sealed class JurisdictionCodesTests
{
    [Fact]
    public void The_constants_name_exactly_the_catalogs_jurisdiction_packs()
    {
        var constants = typeof(JurisdictionCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).Order(StringComparer.Ordinal);
        Assert.Equal(RuleCatalog.Default.Jurisdictions.Order(StringComparer.Ordinal), constants);
    }
}
