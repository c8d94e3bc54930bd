using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Model;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Checks every string an endpoint receives (body, route, query, header) with <see cref="TextInput"/>, and refuses
/// null items inside body arrays, before the handler runs: one rule for every operation, answered as one 422 that
/// lists every bad field by its JSON path. Strings are single-line unless the property is marked <see cref="FreeTextAttribute"/>.
/// A body that is the JSON literal <c>null</c> is refused (400) like any other body that is not an object.
/// </summary>
internal static class RequestValidation
{
    private const int MaxErrors = 50;

    /// <summary>Adds the check to every endpoint under <paramref name="builder"/>.</summary>
    public static TBuilder ValidateRequestText<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory(static (context, next) =>
        {
            // The body is the one parameter of this product's own types that is not a service.
            var services = context.ApplicationServices.GetRequiredService<IServiceProviderIsService>();
            var checks = context.MethodInfo.GetParameters()
                .Select((p, i) => (Parameter: p, Index: i))
                .Where(x => x.Parameter.ParameterType == typeof(string) || (IsModel(x.Parameter.ParameterType) && !services.IsService(x.Parameter.ParameterType)))
                .Select(x => (x.Index, Name: x.Parameter.ParameterType == typeof(string) ? x.Parameter.Name! : null,
                    Kind: x.Parameter.IsDefined(typeof(FreeTextAttribute)) ? TextKind.MultiLine : TextKind.SingleLine))
                .ToArray();
            if (checks.Length == 0)
                return next;

            return invocation =>
            {
                var errors = new Dictionary<string, string[]>();
                foreach (var (index, name, kind) in checks)
                {
                    var value = invocation.Arguments[index];
                    if (name is not null)
                        CheckString(value as string, name, kind, errors);
                    else if (value is not null)
                        Walk(value, "$", errors, depth: 0);
                    else if (HasBody(invocation.HttpContext.Request))
                        throw new JsonException("The body is a JSON null value; send an object, or no body where it is optional.", "$", null, null);
                }

                if (errors.Count > 0)
                {
                    throw new DomainException(DomainErrorKind.Invalid, "validation", "Some values are not allowed; see errors.")
                    {
                        Errors = errors,
                    };
                }

                return next(invocation);
            };
        });

    /// <summary>An optional body bound to null although bytes were sent: the body was the JSON literal <c>null</c>.</summary>
    private static bool HasBody(HttpRequest request) =>
        request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true
        && (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0);

    private static void CheckString(string? value, string path, TextKind kind, Dictionary<string, string[]> errors)
    {
        if (value is not null && errors.Count < MaxErrors && TextInput.Problem(value, kind) is { } problem)
            errors[path] = [problem];
    }

    private static void Walk(object value, string path, Dictionary<string, string[]> errors, int depth)
    {
        if (depth > 32 || errors.Count >= MaxErrors)
            return;
        foreach (var property in PropertiesOf(value.GetType()))
        {
            var child = property.Info.GetValue(value);
            var childPath = path == "$" ? property.JsonName : $"{path}.{property.JsonName}";
            switch (child)
            {
                case null:
                    break;
                case string s:
                    CheckString(s, childPath, property.Kind, errors);
                    break;
                case IEnumerable items:
                    var i = 0;
                    foreach (var item in items)
                    {
                        var itemPath = $"{childPath}[{i++}]";
                        if (item is null)
                        {
                            if (errors.Count < MaxErrors)
                                errors[itemPath] = ["Must not be null."];
                        }
                        else if (item is string text)
                            CheckString(text, itemPath, property.Kind, errors);
                        else if (IsModel(item.GetType()))
                            Walk(item, itemPath, errors, depth + 1);
                    }

                    break;
                default:
                    if (IsModel(child.GetType()))
                        Walk(child, childPath, errors, depth + 1);
                    break;
            }
        }
    }

    private sealed record ModelProperty(PropertyInfo Info, string JsonName, TextKind Kind);

    private static readonly ConcurrentDictionary<Type, ModelProperty[]> Properties = new();

    /// <summary>Request and domain records of this product (not framework or primitive types).</summary>
    private static bool IsModel(Type type) =>
        type.Namespace?.StartsWith("FeedbackHub.", StringComparison.Ordinal) == true && !type.IsEnum;

    private static ModelProperty[] PropertiesOf(Type type) =>
        Properties.GetOrAdd(type, static t =>
        {
            // Positional records carry the attribute on the constructor parameter unless it targets the property.
            var parameters = t.GetConstructors().SelectMany(c => c.GetParameters()).Where(p => p.IsDefined(typeof(FreeTextAttribute)))
                .Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            return t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetIndexParameters().Length == 0 && p.CanRead && p.CanWrite) // bound properties, not computed ones
                .Select(p => new ModelProperty(p, JsonNamingPolicy.CamelCase.ConvertName(p.Name),
                    p.IsDefined(typeof(FreeTextAttribute)) || parameters.Contains(p.Name) ? TextKind.MultiLine : TextKind.SingleLine))
                .ToArray();
        });
}
