namespace FeedbackHub.Domain;
public static class AssemblyMarker;
