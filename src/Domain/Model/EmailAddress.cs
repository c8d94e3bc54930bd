using System.Net.Mail;

namespace FeedbackHub.Domain.Model;

/// <summary>Strict address checks used before an address goes into an SMTP envelope or a header.</summary>
public static class EmailAddress
{
    public static bool IsValid(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 254)
            return false;
        foreach (var c in value)
        {
            // No control characters, no whitespace, nothing that could end or fold a header line.
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c is '<' or '>' or ',' or ';' or '"' or '\\')
                return false;
        }

        var at = value.LastIndexOf('@');
        if (at <= 0 || at == value.Length - 1 || value.IndexOf('@', StringComparison.Ordinal) != at)
            return false;
        var domain = value[(at + 1)..];
        if (!domain.Contains('.', StringComparison.Ordinal) || domain.StartsWith('.') || domain.EndsWith('.'))
            return false;
        return MailAddress.TryCreate(value, out var parsed) && parsed.Address == value;
    }
}
