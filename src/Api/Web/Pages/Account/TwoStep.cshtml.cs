using FeedbackHub.Domain.People;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Web.Pages.Account;

/// <summary>
/// The second step of signing in, for people who turned it on: the code from their authenticator app, or one of their
/// recovery codes. Only reachable after the password (Identity's short-lived two-step cookie); failures count towards
/// the same lockout as passwords.
/// </summary>
public sealed class TwoStepModel(SignInManager<Person> signIn) : AppPageModel
{
    [BindProperty]
    public string? Code { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>The person chose to type a recovery code instead of the app's code.</summary>
    [BindProperty(SupportsGet = true)]
    public bool Recovery { get; set; }

    public async Task<IActionResult> OnGetAsync() =>
        await signIn.GetTwoFactorAuthenticationUserAsync() is null ? StartAgain() : Page();

    public async Task<IActionResult> OnPostAsync()
    {
        var person = await signIn.GetTwoFactorAuthenticationUserAsync();
        if (person is null)
            return StartAgain();
        var code = Code ?? string.Empty;
        var result = Recovery
            ? await signIn.TwoFactorRecoveryCodeSignInAsync(code)
            : await signIn.TwoFactorAuthenticatorSignInAsync(string.Concat(code.Where(char.IsAsciiDigit)), isPersistent: false, rememberClient: false);
        if (result.Succeeded)
        {
            if (Recovery)
                Notice = "You signed in with a recovery code; it no longer works. If you lost your authenticator app, set up two-step sign-in again in Settings.";
            return LocalRedirect(SignInModel.SafeReturnUrl(ReturnUrl));
        }

        Error = result.IsLockedOut
            ? "Too many wrong codes: the account is locked for 15 minutes."
            : Recovery
                ? "That recovery code is not right or was already used. Check it and try again."
                : "That code is not right. Codes change every 30 seconds: type the one your app shows now.";
        Code = null;
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }

    private RedirectToPageResult StartAgain()
    {
        Notice = "Sign in with your password first (the two-step page expires after 5 minutes).";
        return RedirectToPage("/Account/SignIn", new { returnUrl = SignInModel.SafeReturnUrl(ReturnUrl) });
    }
}
