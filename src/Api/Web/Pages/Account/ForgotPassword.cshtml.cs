using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Web.Pages.Account;

/// <summary>The answer is the same whether or not the address has an account.</summary>
public sealed class ForgotPasswordModel(PeopleDirectory people) : AppPageModel
{
    [BindProperty]
    public string? Email { get; set; }

    public bool Sent { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(Email) && Email.Length <= 254)
            await people.RequestPasswordResetAsync(Email, ct);
        Sent = true;
        return Page();
    }
}
