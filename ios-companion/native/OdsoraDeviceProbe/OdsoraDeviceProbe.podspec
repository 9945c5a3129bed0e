# The app's own native module (memory, footprint, thermal state, secure random bytes), as a local pod:
# ios/Podfile includes it with `pod 'OdsoraDeviceProbe', :path => '../native/OdsoraDeviceProbe'`.
Pod::Spec.new do |s|
  s.name         = 'OdsoraDeviceProbe'
  s.version      = '0.1.0'
  s.summary      = 'Memory (os_proc_available_memory, phys_footprint), thermal state and secure random bytes for the odsora companion.'
  s.homepage     = 'https://localhost/odsora'
  s.license      = { :type => 'MIT' }
  s.authors      = { 'odsora' => 'odsora@localhost' }
  s.platforms    = { :ios => '15.1' }
  s.source       = { :path => '.' }
  s.source_files = '*.{h,m}'
  s.frameworks   = 'Security'
  s.dependency 'React-Core'
end
