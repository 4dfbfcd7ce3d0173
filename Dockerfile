# RegService: build with the .NET SDK, run on the ASP.NET Core runtime as a non-root user.
#   docker build -t regservice .
#   docker run -p 8080:8080 -v regservice-data:/data regservice
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so the layer is cached across code changes.
COPY Directory.Build.props Directory.Packages.props appsettings.json ./
COPY src/RegService.Numerics/RegService.Numerics.csproj src/RegService.Numerics/
COPY src/RegService.Api/RegService.Api.csproj src/RegService.Api/
RUN dotnet restore src/RegService.Api/RegService.Api.csproj
COPY src/ src/
RUN dotnet publish src/RegService.Api/RegService.Api.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The data directory (SQLite database and data set files) lives on a volume owned by the
# image's non-root 'app' user (UID 1654 in the .NET images).
RUN mkdir -p /data && chown app:app /data
ENV ASPNETCORE_URLS=http://+:8080 \
    Auth__Mode=ApiKeys \
    Storage__DataDirectory=/data
VOLUME ["/data"]
EXPOSE 8080
USER app
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["dotnet", "RegService.Api.dll", "--check-health"]
ENTRYPOINT ["dotnet", "RegService.Api.dll"]
