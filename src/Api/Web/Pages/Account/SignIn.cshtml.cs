using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Web.Pages.Account;

/// <summary>
/// Email and password. Every failure says the same thing (unknown address, wrong password, locked, removed, not yet
/// joined), and an unknown address costs the same password hashing as a known one, so the page does not tell whether an
/// address has an account.
/// </summary>
public sealed class SignInModel(SignInManager<Person> signIn, UserManager<Person> users, IPasswordHasher<Person> hasher) : AppPageModel
{
    private static readonly Person Nobody = Person.Invite(Guid.Empty, "nobody@feedbackhub.invalid", "nobody", ["interviewer"], "system", DateTimeOffset.UnixEpoch);
    private static readonly Lazy<string> NobodyHash = new(() => new PasswordHasher<Person>().HashPassword(Nobody, Guid.NewGuid().ToString()));

    [BindProperty]
    public string? Email { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var person = string.IsNullOrWhiteSpace(Email) ? null : await users.FindByEmailAsync(Email.Trim());
        if (person is null)
        {
            hasher.VerifyHashedPassword(Nobody, NobodyHash.Value, Password ?? string.Empty);
        }
        else
        {
            var result = await signIn.PasswordSignInAsync(person, Password ?? string.Empty, isPersistent: false, lockoutOnFailure: true);
            if (result.Succeeded)
                return LocalRedirect(SafeReturnUrl(ReturnUrl));
            if (result.RequiresTwoFactor)
                return RedirectToPage("/Account/TwoStep", new { returnUrl = SafeReturnUrl(ReturnUrl) });
        }

        Error = "The email or password is not right, or the account is locked for 15 minutes after 5 failed attempts. "
            + "Check both and try again, or use \"Forgot your password?\".";
        Password = null;
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }

    /// <summary>Only a path inside the app; anything else (another host, a protocol-relative URL) goes to My work.</summary>
    public static string SafeReturnUrl(string? url) =>
        url is { Length: > 0 } && url.StartsWith(WebApp.Prefix + "/", StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal)
            && !url.Contains('\\', StringComparison.Ordinal)
            ? url
            : WebApp.Prefix + "/";
}
